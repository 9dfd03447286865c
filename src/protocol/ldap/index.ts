export { escapeFilterValue, eqFilter, escapeDnValue, parseDn, normalizeDn, type Rdn } from './escape.js';
