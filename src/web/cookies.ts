/**
 * Cookie header parsing and Set-Cookie serialization (RFC 6265), small on
 * purpose: @fastify/cookie's dependency needs Node 22. Parsing never throws; a
 * malformed pair is skipped, and the first occurrence of a name wins (browsers
 * send the most specific path first, RFC 6265 section 5.4).
 */

/** RFC 6265 section 4.1.1 cookie-name is an RFC 7230 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** cookie-value without quotes: no CTLs, whitespace, DQUOTE, comma, semicolon or backslash. */
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
/** A browser sends at most ~4 kB per cookie and a few dozen cookies; more is not a browser. */
const MAX_HEADER = 16 * 1024;

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header || header.length > MAX_HEADER) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!TOKEN.test(name) || !VALUE.test(value) || out.has(name)) continue;
    out.set(name, value);
  }
  return out;
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. Absent: a browser-session cookie. */
  maxAge?: number;
  path?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax';
}

export function serializeCookie(name: string, value: string, o: CookieOptions = {}): string {
  if (!TOKEN.test(name)) throw new TypeError(`cookie name ${JSON.stringify(name)} is not a token`);
  if (!VALUE.test(value)) throw new TypeError('cookie value has characters a cookie-value cannot carry');
  const parts = [`${name}=${value}`, `Path=${o.path ?? '/'}`];
  if (o.maxAge !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(o.maxAge))}`);
  if (o.httpOnly) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  if (o.sameSite) parts.push(`SameSite=${o.sameSite}`);
  return parts.join('; ');
}
