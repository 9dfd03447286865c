/**
 * Second line of defence against secrets in logs: config secrets are `Secret`
 * objects that already print as "[redacted]"; these paths catch the rest (a
 * password in a request body, an Authorization header, a connection string).
 */
export const REDACT_PATHS = [
  'password', 'pass', 'passwd', 'secret', 'token', 'authorization', 'cookie',
  '*.password', '*.pass', '*.passwd', '*.secret', '*.token', '*.authorization', '*.cookie',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
  '*.*.password', '*.*.token',
];

/** postgres://user:pw@host/db -> postgres://user:***@host/db (also ldap://, smtp://). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):[^@/\s]*@/i, '$1:***@');
}

/** Removes credentials from an SMTP/IMAP protocol line before it is logged. */
export function redactProtocolLine(line: string): string {
  const m = /^(\S+\s+)?(AUTH\s+\S+|LOGIN|AUTHENTICATE\s+\S+)(\s|$)/i.exec(line);
  if (m) return `${m[1] ?? ''}${m[2]} ***`;
  return line;
}
