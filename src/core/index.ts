export * from './errors.js';
export * from './units.js';
export * from './types.js';
export * from './secret.js';
export * from './password.js';
export * from './csv.js';
export * from './random.js';
export * from './settle.js';
