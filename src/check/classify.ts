/**
 * The one classifier of check failures: every error a check can end with (our
 * deadline, a Node socket/DNS/TLS error, a remote answer: SMTP reply, IMAP NO,
 * LDAP result code, HTTP status) goes through ROWS, first match wins, and comes
 * out as one of the seven result codes with a one-line reason for an
 * administrator. One unit test per row (classify.test.ts).
 */
import { MbError, formatDuration } from '../core/index.js';
import { CHECK_ERROR_CODES, CheckErrors, type CheckErrorCode, type RemoteAnswer } from './errors.js';

export interface ClassifyContext {
  /** What the check was waiting for when it failed: "the greeting". */
  waitingFor: string;
  timeoutMs: number;
}

export interface Classified {
  code: CheckErrorCode;
  reason: string;
}

/** What the rows look at, gathered once from the error, its causes and aggregated errors. */
export interface Facts {
  /** Node/OpenSSL error codes (ECONNREFUSED, ERR_SSL_WRONG_VERSION_NUMBER ...), outermost first. */
  codes: string[];
  messages: string[];
  mbCode?: string;
  mbDetails: Record<string, unknown>;
  answer?: RemoteAnswer;
  /** A host name from a DNS error (getaddrinfo). */
  hostname?: string;
  /** The message of the innermost error that carries a code, else the outer one. */
  message: string;
}

export interface Row {
  name: string;
  match: (f: Facts) => boolean;
  /** A fixed code, or (for failures a check worded itself) read from the error. */
  code: CheckErrorCode | ((f: Facts) => CheckErrorCode);
  reason: (f: Facts, ctx: ClassifyContext) => string;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const TLS_MESSAGE = /wrong version number|secure TLS connection|ssl3_get_record|packet length too long|tlsv1 alert|handshake failure|unknown protocol/i;

/** Hints an administrator can act on, by TLS error code or message. */
const TLS_HINTS: Array<[RegExp, string]> = [
  [/wrong version number|packet length too long|unknown protocol/i, 'the server answered in plain text: is this port plain or STARTTLS rather than implicit TLS?'],
  [/secure TLS connection was established/i, 'the server closed the connection during the TLS handshake'],
  [/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF|CERT_UNTRUSTED/, 'the certificate is not trusted: add its CA (NODE_EXTRA_CA_CERTS) or set tlsInsecure: true'],
  [/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/, 'the certificate is outside its validity period'],
  [/ALTNAME|HOSTNAME_MISMATCH/, 'the certificate does not name this host'],
];

const has = (f: Facts, ...codes: string[]): boolean => f.codes.some((c) => codes.includes(c));
const answered = (f: Facts, protocol: RemoteAnswer['protocol'], test: (a: RemoteAnswer) => boolean): boolean =>
  f.answer !== undefined && f.answer.protocol === protocol && test(f.answer);
const seconds = (ctx: ClassifyContext): string => formatDuration(ctx.timeoutMs);
const quote = (a: RemoteAnswer | undefined): string => (a ? `${a.status} ${a.text}`.trim() : '');

export const ROWS: readonly Row[] = [
  {
    name: 'our deadline fired',
    match: (f) => f.mbCode === CheckErrors.CHECK_DEADLINE,
    code: 'CHECK_TIMEOUT',
    reason: (f, ctx) => `timed out after ${seconds(ctx)} waiting for ${String(f.mbDetails.waitingFor ?? ctx.waitingFor)}`,
  },
  {
    name: 'a failure the check already worded',
    match: (f) => (CHECK_ERROR_CODES as readonly string[]).includes(f.mbCode ?? ''),
    code: (f) => f.mbCode as CheckErrorCode,
    reason: (f) => f.message,
  },
  {
    name: 'IMAP login rejected',
    match: (f) => answered(f, 'imap', (a) => /^(LOGIN|AUTHENTICATE)$/.test(a.step) && /^NO/.test(String(a.status))),
    code: 'CHECK_AUTH',
    reason: (f) => `bad credentials (login rejected: ${quote(f.answer)})`,
  },
  {
    name: 'SMTP authentication rejected (535)',
    match: (f) => answered(f, 'smtp', (a) => a.status === 535 || a.status === '535'),
    code: 'CHECK_AUTH',
    reason: (f) => `bad credentials (login rejected: ${quote(f.answer)})`,
  },
  {
    name: 'LDAP invalidCredentials (49)',
    match: (f) => answered(f, 'ldap', (a) => a.status === 49),
    code: 'CHECK_AUTH',
    reason: (f) => `bad credentials (bind rejected: ${f.answer?.text ?? ''}, code 49)`,
  },
  {
    name: 'LDAP insufficientAccessRights (50)',
    match: (f) => answered(f, 'ldap', (a) => a.status === 50),
    code: 'CHECK_AUTH',
    reason: (f) => `not allowed to read ${f.answer?.subject ?? 'the entry'} (insufficientAccessRights, code 50)`,
  },
  {
    name: 'LDAP noSuchObject (32)',
    match: (f) => answered(f, 'ldap', (a) => a.status === 32),
    code: 'CHECK_NOT_FOUND',
    reason: (f) => `${f.answer?.subject ?? 'entry'} not found (noSuchObject, code 32)`,
  },
  {
    name: 'HTTP 401/403',
    match: (f) => answered(f, 'http', (a) => a.status === 401 || a.status === 403),
    code: 'CHECK_AUTH',
    reason: (f) => f.answer?.status === 401
      ? `bad credentials (${f.answer.step} answered ${quote(f.answer)})`
      : `access denied (${f.answer?.step ?? 'request'} answered ${quote(f.answer)})`,
  },
  {
    name: 'HTTP 404/410',
    match: (f) => answered(f, 'http', (a) => a.status === 404 || a.status === 410),
    code: 'CHECK_NOT_FOUND',
    reason: (f) => `${f.answer?.subject ?? 'URL'} not found (${f.answer?.step ?? 'request'} answered ${quote(f.answer)})`,
  },
  {
    name: 'any other remote answer',
    match: (f) => f.answer !== undefined,
    code: 'CHECK_PROTOCOL',
    reason: (f) => `unexpected answer to ${f.answer?.step ?? 'the request'}: "${quote(f.answer)}"`,
  },
  {
    name: 'connection refused',
    match: (f) => has(f, 'ECONNREFUSED'),
    code: 'CHECK_REFUSED',
    reason: () => 'connection refused',
  },
  {
    name: 'host or network unreachable',
    match: (f) => has(f, 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'),
    code: 'CHECK_REFUSED',
    reason: (f) => `host unreachable (${f.codes.find((c) => /UNREACH|EADDRNOTAVAIL/.test(c)) ?? ''})`,
  },
  {
    name: 'DNS lookup failed',
    match: (f) => has(f, 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'ENODATA'),
    code: 'CHECK_DNS',
    reason: (f) => `cannot resolve host name${f.hostname ? ` ${f.hostname}` : ''} (${f.codes.find((c) => /^E(NOTFOUND|AI_|NODATA)/.test(c)) ?? ''})`,
  },
  {
    name: 'TLS failure',
    match: (f) => f.codes.some((c) => c.startsWith('ERR_SSL_') || TLS_CODES.has(c)) || f.messages.some((m) => TLS_MESSAGE.test(m)),
    code: 'CHECK_TLS',
    reason: (f) => tlsReason(f),
  },
  {
    name: 'timed out below us (ETIMEDOUT, library timeouts)',
    match: (f) => has(f, 'ETIMEDOUT') || f.messages.some((m) => /timed out|timeout/i.test(m)),
    code: 'CHECK_TIMEOUT',
    reason: (_f, ctx) => `timed out after ${seconds(ctx)} waiting for ${ctx.waitingFor}`,
  },
  {
    name: 'connection closed or reset by the server',
    match: (f) => f.mbCode === CheckErrors.CHECK_CLOSED || has(f, 'ECONNRESET', 'EPIPE') ||
      f.messages.some((m) => /connection closed|socket hang up/i.test(m)),
    code: 'CHECK_PROTOCOL',
    reason: (f, ctx) => `connection ${has(f, 'ECONNRESET', 'EPIPE') ? 'reset' : 'closed'} by the server while waiting for ${ctx.waitingFor}`,
  },
  {
    name: 'file not found',
    match: (f) => has(f, 'ENOENT', 'ENOTDIR'),
    code: 'CHECK_NOT_FOUND',
    reason: (f) => `not found (${f.message})`,
  },
  {
    name: 'file permission denied',
    match: (f) => has(f, 'EACCES', 'EPERM'),
    code: 'CHECK_AUTH',
    reason: (f) => `permission denied (${f.message})`,
  },
  {
    name: 'anything else',
    match: () => true,
    code: 'CHECK_PROTOCOL',
    reason: (f, ctx) => `${f.message} (while waiting for ${ctx.waitingFor})`,
  },
];

export function classify(err: unknown, ctx: ClassifyContext): Classified {
  const f = factsOf(err);
  const row = ROWS.find((r) => r.match(f))!; // the last row matches everything
  const code = typeof row.code === 'function' ? row.code(f) : row.code;
  return { code, reason: oneLine(row.reason(f, ctx)) };
}

/** Which row an error falls in (for tests). */
export function classifyRow(err: unknown): string {
  const f = factsOf(err);
  return ROWS.find((r) => r.match(f))!.name;
}

export function factsOf(err: unknown): Facts {
  const f: Facts = { codes: [], messages: [], mbDetails: {}, message: '' };
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): void => {
    if (e === null || typeof e !== 'object' || seen.has(e) || depth > 8) return;
    seen.add(e);
    const o = e as { code?: unknown; message?: unknown; hostname?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.message === 'string' && o.message) f.messages.push(o.message);
    if (typeof o.code === 'string') {
      f.codes.push(o.code);
      if (typeof o.message === 'string' && o.message) f.message = o.message;
    }
    if (typeof o.hostname === 'string' && f.hostname === undefined) f.hostname = o.hostname;
    if (e instanceof MbError && f.mbCode === undefined) {
      f.mbCode = e.code;
      f.mbDetails = e.details;
      if (e.code === CheckErrors.CHECK_ANSWER) f.answer = e.details as unknown as RemoteAnswer;
    }
    visit(o.cause, depth + 1);
    if (Array.isArray(o.errors)) for (const inner of o.errors) visit(inner, depth + 1);
  };
  visit(err, 0);
  if (f.mbCode !== undefined) f.message = f.messages[0] ?? '';
  if (!f.message) f.message = f.messages[0] ?? String(err);
  return f;
}

function tlsReason(f: Facts): string {
  const code = f.codes.find((c) => c.startsWith('ERR_SSL_') || TLS_CODES.has(c));
  const raw = `${f.messages.join(' ')} ${code ?? ''}`;
  const hint = TLS_HINTS.find(([re]) => re.test(raw))?.[1];
  const what = code ? `${shortTlsMessage(f)} (${code})` : shortTlsMessage(f);
  return `TLS handshake failed: ${what}${hint ? `; ${hint}` : ''}`;
}

/** OpenSSL messages carry a routine prefix ("...:error:0A00010B:SSL routines::wrong version number"). */
function shortTlsMessage(f: Facts): string {
  const m = f.messages.find((x) => TLS_MESSAGE.test(x) || /cert|ssl|tls/i.test(x)) ?? f.message;
  const tail = /SSL routines:[^:]*:(.+)$/.exec(m);
  return (tail ? tail[1]! : m).trim();
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
