/** `mailbridge check`: reach every configured endpoint for real, one line per endpoint. */
export { runChecks, planChecks, checkExitCode } from './run.js';
export { formatCheckReport } from './format.js';
export { classify } from './classify.js';
export { CHECK_ERROR_CODES, CheckErrors, type CheckErrorCode } from './errors.js';
export { PROBE_NOBODY } from './imap.js';
export { PLACEHOLDER_ADDRESS } from './http.js';
export type {
  CheckTarget, CheckInput, CheckOptions, CheckReport, EndpointResult, EndpointKind, SecretLike, TlsMode,
} from './types.js';
