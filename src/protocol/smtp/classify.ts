/**
 * The one classifier of what a remote SMTP/LMTP server (or the connection to
 * it) answered when the gateway delivered: retry later, or fail (bounce).
 * REMOTE_ROWS is the table, first match wins, one unit test per row (classify.test.ts).
 *
 * The rules behind the table:
 *
 * - The basic code decides, as RFC 5321 4.2.1 says: a 4xx is never failed, and
 *   a 5xx is failed except in the two places where the standard or long MTA
 *   practice says otherwise (rows marked "exception").
 * - Rows that only name a category (text and enhanced-code rows) use
 *   action 'class': 4xx retry, 5xx fail. So "552 5.2.2 Mailbox is full" from
 *   Dovecot LMTP fails and Gmail's "452 4.2.2 over quota" retries: RFC 3463
 *   allows X.2.2 as permanent or persistent transient, and the server chose;
 *   Dovecot's admin chooses with quota_full_tempfail.
 * - An enhanced code whose class differs from the basic code is ignored (RFC
 *   2034: the class digit must match), so "450 5.1.1" is not a 5.1.1.
 * - A 5xx whose text says "try again later" still fails (the code governs);
 *   its category 'ambiguous' lets an operator find such peers.
 * - No reply and no known error code: retry ('unknown'). An unclassified
 *   error is never a reason to bounce.
 */
import { parseReply } from './replies.js';

export type RemoteAction = 'retry' | 'fail';

export type RemoteCategory =
  | 'greylisting' | 'rate-limit' | 'mailbox-full' | 'mailbox-unknown' | 'mailbox-disabled' | 'address'
  | 'relay-denied' | 'policy' | 'spam' | 'virus' | 'blocklist' | 'size' | 'too-many-recipients' | 'loop'
  | 'routing' | 'network' | 'dns' | 'tls' | 'auth' | 'protocol' | 'content' | 'recipient-temp'
  | 'server-temp' | 'ambiguous' | 'rejected' | 'unknown';

/** What the classifier looks at. `stage` is the command the reply answered. */
export interface RemoteFacts {
  code?: number;
  enhanced?: string;
  text?: string;
  /** Node / OpenSSL / nodemailer error codes of the error and its causes (ECONNREFUSED, ESOCKET). */
  errorCodes?: readonly string[];
  stage?: 'connect' | 'helo' | 'tls' | 'auth' | 'mail' | 'rcpt' | 'data';
}

/**
 * All given fields must match. A row without `errorCode` describes a reply and
 * matches only facts with a reply code.
 */
export interface RemoteMatch {
  code?: number | RegExp;
  enhanced?: RegExp;
  text?: RegExp;
  errorCode?: string | RegExp;
  stage?: RemoteFacts['stage'];
}

export interface RemoteRow {
  /** Unique; the tests and logs refer to the row by it. */
  name: string;
  match: RemoteMatch;
  /** 'class': 4xx retry, 5xx fail. */
  action: RemoteAction | 'class';
  category: RemoteCategory;
  /**
   * RFC 5321 4.5.3.1.10: the recipients refused with "too many recipients" go
   * in a new transaction right away, not after the retry delay.
   */
  newTransaction?: true;
}

export interface RemoteClassification {
  action: RemoteAction;
  category: RemoteCategory;
  /** The row that matched ('default-4xx', ... when none did). */
  rule: string;
  newTransaction?: true;
}

const TLS_CODE = /^(ETLS|ERR_SSL_.*|ERR_TLS_.*|CERT_.*|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_.*|HOSTNAME_MISMATCH)$/;

export const REMOTE_ROWS: readonly RemoteRow[] = [
  // Exception (RFC 5321 4.5.3.1.10): RFC 821 used 552 for too many recipients; clients SHOULD treat it as temporary.
  { name: 'too-many-recipients-552', match: { code: 552, text: /too many recipients/i }, action: 'retry', category: 'too-many-recipients', newTransaction: true },
  { name: 'too-many-recipients', match: { enhanced: /^4\.5\.3$/ }, action: 'retry', category: 'too-many-recipients', newTransaction: true },
  { name: 'too-many-recipients-text', match: { code: 452, text: /too many recipients/i }, action: 'retry', category: 'too-many-recipients', newTransaction: true },

  // Exception: a refusal of our own TLS or credentials is the operator's configuration, not the
  // sender's fault; defer while it is fixed (Postfix: smtp_sasl_auth_soft_bounce = yes). 530 is
  // "Must issue a STARTTLS command first" (RFC 3207) or "Authentication required" (RFC 4954).
  { name: 'tls-required', match: { code: /^(530|4\d\d)$/, text: /starttls|tls (is )?required|encryption required|must use (tls|ssl)/i }, action: 'retry', category: 'tls' },
  { name: 'auth-required', match: { code: 530 }, action: 'retry', category: 'auth' },
  { name: 'auth-failed', match: { code: /^(535|534)$/ }, action: 'retry', category: 'auth' },

  // Temporary refusals that say why.
  { name: 'greylisting', match: { code: /^4/, text: /gr[ae]y-?list|postgrey/i }, action: 'retry', category: 'greylisting' },
  { name: 'rate-limit', match: { code: /^4/, text: /rate limit|ratelimit|throttl|too many (connections|messages|concurrent|sessions)|receiving mail at a rate|unusual rate|slow down/i }, action: 'retry', category: 'rate-limit' },
  { name: 'rate-limit-421-policy', match: { code: 421, enhanced: /^4\.7\.\d+$/ }, action: 'retry', category: 'rate-limit' },
  { name: 'network-421', match: { code: 421, enhanced: /^4\.4\.\d+$/ }, action: 'retry', category: 'network' },
  { name: 'server-temp-421', match: { code: 421 }, action: 'retry', category: 'server-temp' },

  // Wording that is more specific than any enhanced code that comes with it.
  { name: 'blocklist', match: { text: /block ?list|black ?list|blocked using|listed (at|in|on|by) |dnsbl|spamhaus|poor reputation/i }, action: 'class', category: 'blocklist' },
  { name: 'relay-denied', match: { text: /relay(ing)? (access )?(denied|not permitted|prohibited)|unable to relay|not allowed to relay/i }, action: 'class', category: 'relay-denied' },

  // Mailbox and address status (RFC 3463 X.1.x, X.2.x).
  { name: 'mailbox-full', match: { enhanced: /^[45]\.2\.2$/ }, action: 'class', category: 'mailbox-full' },
  { name: 'recipient-temp', match: { enhanced: /^4\.1\.\d+$/ }, action: 'retry', category: 'recipient-temp' },
  { name: 'mailbox-unknown', match: { enhanced: /^5\.1\.[16]$/ }, action: 'fail', category: 'mailbox-unknown' },
  { name: 'address', match: { enhanced: /^5\.1\.\d+$/ }, action: 'fail', category: 'address' },
  { name: 'mailbox-disabled', match: { enhanced: /^[45]\.2\.1$/ }, action: 'class', category: 'mailbox-disabled' },

  // Security and policy (RFC 3463 X.7.x).
  { name: 'virus', match: { text: /virus|malware|infected/i }, action: 'class', category: 'virus' },
  { name: 'spam', match: { text: /spam|junk mail|\bUCE\b|bulk mail|phish/i }, action: 'class', category: 'spam' },
  { name: 'spam-554-5.7.1', match: { code: 554, enhanced: /^5\.7\.1$/ }, action: 'fail', category: 'spam' },
  { name: 'policy', match: { enhanced: /^[45]\.7\.\d+$/ }, action: 'class', category: 'policy' },

  // Message, routing and system status (RFC 3463 X.3.x, X.4.x, X.5.x, X.6.x).
  { name: 'size', match: { enhanced: /^[45]\.(3\.4|2\.3)$/ }, action: 'class', category: 'size' },
  { name: 'loop', match: { enhanced: /^[45]\.4\.6$/ }, action: 'class', category: 'loop' },
  { name: 'network-temp', match: { enhanced: /^4\.4\.\d+$/ }, action: 'retry', category: 'network' },
  { name: 'routing', match: { enhanced: /^5\.4\.\d+$/ }, action: 'fail', category: 'routing' },
  { name: 'server-temp', match: { enhanced: /^4\.3\.\d+$/ }, action: 'retry', category: 'server-temp' },
  { name: 'content', match: { enhanced: /^5\.6\.\d+$/ }, action: 'fail', category: 'content' },
  { name: 'protocol', match: { enhanced: /^5\.5\.\d+$/ }, action: 'fail', category: 'protocol' },

  // Servers without enhanced codes: the wording.
  { name: 'mailbox-full-text', match: { text: /mailbox (is )?full|quota exceeded|over ?quota|exceeded storage allocation/i }, action: 'class', category: 'mailbox-full' },
  { name: 'mailbox-unknown-text', match: { text: /user unknown|unknown user|no such (user|mailbox|recipient)|mailbox (not found|does not exist)|recipient not found|invalid recipient|unrouteable address/i }, action: 'class', category: 'mailbox-unknown' },
  { name: 'size-text', match: { code: /^(552|452)$/, text: /size|too (big|large)|too much mail data/i }, action: 'class', category: 'size' },
  { name: 'loop-text', match: { text: /\bloop(s|ing)?\b|too many hops/i }, action: 'class', category: 'loop' },
  { name: 'protocol-50x', match: { code: /^50[0-4]$/ }, action: 'fail', category: 'protocol' },
  { name: 'ambiguous-5xx', match: { code: /^5/, text: /try (again )?later|temporar/i }, action: 'fail', category: 'ambiguous' },

  // The connection itself (no reply).
  { name: 'econnrefused', match: { errorCode: 'ECONNREFUSED' }, action: 'retry', category: 'network' },
  { name: 'econnreset', match: { errorCode: 'ECONNRESET' }, action: 'retry', category: 'network' },
  { name: 'etimedout', match: { errorCode: /^(ETIMEDOUT|ESOCKETTIMEDOUT)$/ }, action: 'retry', category: 'network' },
  { name: 'unreachable', match: { errorCode: /^(EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|EADDRNOTAVAIL)$/ }, action: 'retry', category: 'network' },
  { name: 'broken-pipe', match: { errorCode: /^(EPIPE|ECONNABORTED)$/ }, action: 'retry', category: 'network' },
  // A name we were configured with that does not resolve is still the operator's to fix: retry.
  { name: 'dns', match: { errorCode: /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|ENODATA|ESERVFAIL|ETIMEOUT|EDNS)$/ }, action: 'retry', category: 'dns' },
  { name: 'tls', match: { errorCode: TLS_CODE }, action: 'retry', category: 'tls' },
  { name: 'auth-client', match: { errorCode: 'EAUTH' }, action: 'retry', category: 'auth' },
  { name: 'protocol-client', match: { errorCode: 'EPROTOCOL' }, action: 'retry', category: 'protocol' },
  // The peer announced SIZE and the message is larger (nodemailer refuses before sending): permanent.
  { name: 'size-announced', match: { errorCode: 'EMESSAGE', text: /size larger than allowed/i }, action: 'fail', category: 'size' },
  { name: 'socket', match: { errorCode: /^(ESOCKET|ECONNECTION|ECLOSED)$/ }, action: 'retry', category: 'network' },
];

const ENHANCED = /^([245])\.\d{1,3}\.\d{1,3}$/;

function test(m: string | number | RegExp, value: string | number | undefined): boolean {
  if (value === undefined) return false;
  if (m instanceof RegExp) return m.test(String(value));
  return m === value;
}

function matches(m: RemoteMatch, f: RemoteFacts): boolean {
  // A row that names no error code describes a reply: it never matches an error that has none.
  if (m.errorCode === undefined && f.code === undefined) return false;
  if (m.code !== undefined && !test(m.code, f.code)) return false;
  if (m.enhanced !== undefined && !test(m.enhanced, f.enhanced)) return false;
  if (m.text !== undefined && !test(m.text, f.text)) return false;
  if (m.stage !== undefined && m.stage !== f.stage) return false;
  if (m.errorCode !== undefined) {
    const want = m.errorCode;
    if (!(f.errorCodes ?? []).some((c) => test(want, c))) return false;
  }
  return true;
}

/** Drops an enhanced code that is malformed or disagrees with the basic code's class (RFC 2034). */
function normalise(f: RemoteFacts): RemoteFacts {
  const e = f.enhanced?.trim();
  const m = e ? ENHANCED.exec(e) : null;
  const agrees = m !== null && (f.code === undefined || String(f.code)[0] === m[1]);
  return { ...f, enhanced: agrees ? e : undefined };
}

function byClass(code: number | undefined): RemoteAction {
  return code !== undefined && code >= 500 && code < 600 ? 'fail' : 'retry';
}

function fallback(f: RemoteFacts): RemoteClassification {
  const c = f.code;
  if (c !== undefined && c >= 500 && c < 600) return { action: 'fail', category: 'rejected', rule: 'default-5xx' };
  if (c !== undefined && c >= 400 && c < 500) {
    return f.stage === 'rcpt'
      ? { action: 'retry', category: 'recipient-temp', rule: 'default-4xx-rcpt' }
      : { action: 'retry', category: 'server-temp', rule: 'default-4xx' };
  }
  // A 2xx/3xx where a refusal was expected, or no reply: nothing says it is permanent.
  if (c !== undefined) return { action: 'retry', category: 'protocol', rule: 'default-unexpected' };
  return { action: 'retry', category: 'unknown', rule: 'default-unknown' };
}

/** Classifies a remote reply and/or connection error by REMOTE_ROWS (first match wins). */
export function classifyRemote(facts: RemoteFacts, rows: readonly RemoteRow[] = REMOTE_ROWS): RemoteClassification {
  const f = normalise(facts);
  for (const row of rows) {
    if (!matches(row.match, f)) continue;
    let action = row.action === 'class' ? byClass(f.code) : row.action;
    // The basic code decides (RFC 5321 4.2.1): no row fails a 4xx.
    if (f.code !== undefined && f.code < 500) action = 'retry';
    const out: RemoteClassification = { action, category: row.category, rule: row.name };
    return row.newTransaction ? { ...out, newTransaction: true } : out;
  }
  return fallback(f);
}

/** Classifies a reply as received on the wire ("550-5.1.1 ...\r\n550 5.1.1 ..."). */
export function classifyReply(wire: string, stage?: RemoteFacts['stage']): RemoteClassification {
  const r = parseReply(wire);
  if (!r) return classifyRemote({ text: wire, stage });
  return classifyRemote({ code: r.code, enhanced: r.enhanced || undefined, text: r.text.replace(/\n/g, ' '), stage });
}

/** The error codes of an error and its causes (nodemailer keeps the socket's own code in originalCode). */
function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && !seen.has(e)) {
    seen.add(e);
    const o = e as { code?: unknown; originalCode?: unknown; cause?: unknown };
    if (typeof o.originalCode === 'string') out.push(o.originalCode);
    if (typeof o.code === 'string') out.push(o.code);
    e = o.cause;
  }
  return [...new Set(out)];
}

/**
 * Classifies a thrown delivery error: nodemailer's (`response`, `responseCode`,
 * `code`, `originalCode`), a Node socket error, or anything else.
 */
export function classifyError(err: unknown, stage?: RemoteFacts['stage']): RemoteClassification {
  const o = (typeof err === 'object' && err !== null ? err : {}) as { response?: unknown; responseCode?: unknown; message?: unknown };
  const codes = errorCodes(err);
  const reply = typeof o.response === 'string' ? parseReply(o.response) : undefined;
  if (reply) {
    return classifyRemote({ code: reply.code, enhanced: reply.enhanced || undefined, text: reply.text.replace(/\n/g, ' '), errorCodes: codes, stage });
  }
  const code = typeof o.responseCode === 'number' ? o.responseCode : undefined;
  const text = typeof o.message === 'string' ? o.message : undefined;
  return classifyRemote({ code, text, errorCodes: codes, stage });
}
