/** The SMTP protocol helpers: reply catalogue, remote-reply classifier, DSN builder, address checks. */
export * from './errors.js';
export * from './replies.js';
export * from './classify.js';
export * from './dsn.js';
export * from './xtext.js';
export * from './address.js';
