/**
 * The one catalogue of SMTP replies the gateway sends, and the one edge function
 * that turns an error into a wire reply.
 *
 * Every reply names its enhanced status code (RFC 3463) for its reason; nothing
 * here derives an enhanced code from the basic code. Replies whose class is 3xx,
 * and the greeting, carry no enhanced code (RFC 2034 section 3).
 *
 * Wording follows Postfix where Postfix has a reply for the same reason, so an
 * administrator reading a peer's log recognises it.
 */
import { MbError } from '../../core/index.js';
import { SmtpErrors } from './errors.js';

export interface Reply {
  readonly code: number;
  /** RFC 3463 enhanced status code ("5.1.1"), or '' for replies that carry none (3xx). */
  readonly enhanced: string;
  /** Reply text; '\n' separates the lines of a multi-line reply. */
  readonly text: string;
}

/** Who the address in a reply belongs to: X.1.3 is the recipient's, X.1.7 the sender's (RFC 3463). */
export type AddressRole = 'recipient' | 'sender';

/** The kinds of sender-specified routing refused by the relay policy (see address.ts). */
export type RoutingKind = 'source-route' | 'percent-hack' | 'bang-path' | 'quoted-at' | 'multiple-at';

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})$/;
const CONTROL = /[\u0000-\u001f\u007f]/g;

function make(code: number, enhanced: string, text: string): Reply {
  return Object.freeze({ code, enhanced, text });
}

/** Printable ASCII only: for values that end up inside a reply (queue ids). */
function safeToken(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '').slice(0, 64);
}

const badAddress = (role: AddressRole): string => (role === 'sender' ? '5.1.7' : '5.1.3');
const who = (role: AddressRole): string => (role === 'sender' ? 'sender' : 'recipient');

const ROUTING_TEXT: Record<RoutingKind, string> = {
  'source-route': 'source routes are not accepted',
  'percent-hack': 'percent-hack routing is not accepted',
  'bang-path': 'UUCP bang paths are not accepted',
  'quoted-at': 'an @ in the local part is not accepted',
  'multiple-at': 'an address with several @ is not accepted',
};

/**
 * The catalogue. `Reply.mailboxUnknown()` reads as the reason; each constructor
 * fixes code, enhanced code and text together.
 */
export const Reply = {
  // 2xx / 3xx -----------------------------------------------------------------
  ok: (): Reply => make(250, '2.0.0', 'Ok'),
  /** RFC 3463 X.1.0: other address status (the sender was accepted). */
  senderOk: (): Reply => make(250, '2.1.0', 'Ok'),
  /** RFC 3463 X.1.5: destination address valid. */
  recipientOk: (): Reply => make(250, '2.1.5', 'Ok'),
  queued: (id: string): Reply => make(250, '2.0.0', `Ok: queued as ${safeToken(id)}`),
  /** No enhanced code on 3xx (RFC 2034 section 3). */
  startData: (): Reply => make(354, '', 'End data with <CR><LF>.<CR><LF>'),
  bye: (): Reply => make(221, '2.0.0', 'Bye'),

  // 4xx: the sender's MTA keeps the message and retries ---------------------
  /** The directory could not be asked (timeout, LDAP down). RFC 3463 X.4.3: directory server failure. */
  tempDirectory: (): Reply => make(451, '4.4.3', 'Recipient lookup failed, try again later'),
  /** Any local failure (spool write, bug). RFC 3463 X.3.0: other mail system status. */
  tempLocal: (): Reply => make(451, '4.3.0', 'Local error, try again later'),
  /** The spool is full. RFC 3463 X.3.1: mail system full; RFC 1870 452 at MAIL. */
  insufficientStorage: (): Reply => make(452, '4.3.1', 'Insufficient system storage'),
  /** RFC 5321 4.5.3.1.10: 452, the client sends the remaining recipients in a new transaction. */
  tooManyRecipients: (): Reply => make(452, '4.5.3', 'Error: too many recipients'),
  /** RFC 3463 X.7.0 with 421: the connection limit per client. */
  tooManyConnections: (): Reply => make(421, '4.7.0', 'Error: too many connections, try again later'),
  /** RFC 3463 X.3.2: system not accepting network messages (we are stopping). */
  shuttingDown: (): Reply => make(421, '4.3.2', 'Service shutting down, try again later'),
  /** RFC 3463 X.4.2: bad connection (idle timeout). */
  timeout: (): Reply => make(421, '4.4.2', 'Error: timeout exceeded'),
  /** RFC 4954 section 6: temporary authentication failure. */
  authTemporary: (): Reply => make(454, '4.7.0', 'Temporary authentication failure'),
  /** RFC 3207 section 4. */
  tlsUnavailable: (): Reply => make(454, '4.7.0', 'TLS not available due to temporary reason'),

  // 5xx: refused for good ---------------------------------------------------
  mailboxUnknown: (): Reply => make(550, '5.1.1', 'Recipient address rejected: User unknown'),
  /** Postfix's relay_domains_reject_code is 554; RFC 3463 X.7.1: delivery not authorized. */
  relayDenied: (): Reply => make(554, '5.7.1', 'Relay access denied'),
  /** Sender-specified routing inside an address of ours (address.ts relayTrick): a relay attempt. */
  routingDenied: (kind: RoutingKind): Reply => make(554, '5.7.1', `Relay access denied: ${ROUTING_TEXT[kind]}`),
  /** At MAIL with SIZE= over the limit (RFC 1870 section 6). RFC 3463 X.3.4: message too big for system. */
  sizeExceeded: (): Reply => make(552, '5.3.4', 'Message size exceeds fixed limit'),
  /** At the end of DATA when the message grew past the limit. */
  messageTooBig: (): Reply => make(552, '5.3.4', 'Error: message file too big'),
  /** RFC 5321 4.2.3: 500; RFC 3463 X.5.2: syntax error. */
  syntaxError: (): Reply => make(500, '5.5.2', 'Error: command not recognized'),
  /** RFC 5321 4.2.3: 501; RFC 3463 X.5.4: invalid command arguments. */
  paramSyntax: (): Reply => make(501, '5.5.4', 'Syntax error in parameters or arguments'),
  /** RFC 5321 4.1.1.11 / 4.2.3: a MAIL or RCPT parameter we do not know. */
  paramUnknown: (): Reply => make(555, '5.5.4', 'Unsupported option'),
  /**
   * A command line over 512 octets (RFC 5321 4.5.3.1.4); 4.5.3.1.9 answers "500 Line too long".
   * X.5.2 (syntax), not X.5.6: 5.5.6 is registered (RFC 4954) for an over-long AUTH exchange line.
   */
  lineTooLong: (): Reply => make(500, '5.5.2', 'Line too long'),
  /** RFC 4954 section 4: an AUTH exchange line over the limit. */
  authLineTooLong: (): Reply => make(500, '5.5.6', 'Authentication Exchange line is too long'),
  badSequence: (): Reply => make(503, '5.5.1', 'Error: bad sequence of commands'),
  commandNotImplemented: (): Reply => make(502, '5.5.1', 'Error: command not implemented'),
  /** RFC 5321 4.5.3.1.1, refused as 4.5.3.1.9 says ("501 Path too long"); X.1.3 / X.1.7 by role. */
  localPartTooLong: (role: AddressRole = 'recipient'): Reply =>
    make(501, badAddress(role), `Bad ${who(role)} address syntax: local part longer than 64 octets`),
  /** RFC 5321 4.5.3.1.2: a domain is at most 255 octets. */
  domainTooLong: (role: AddressRole = 'recipient'): Reply =>
    make(501, badAddress(role), `Bad ${who(role)} address syntax: domain longer than 255 octets`),
  /** RFC 5321 4.5.3.1.3: a path is at most 256 octets including "<" and ">". */
  pathTooLong: (role: AddressRole = 'recipient'): Reply => make(501, badAddress(role), 'Path too long'),
  badAddressSyntax: (role: AddressRole = 'recipient'): Reply => make(501, badAddress(role), `Bad ${who(role)} address syntax`),
  /** RFC 6531 section 3.5: a non-ASCII address without SMTPUTF8 on MAIL. */
  needsSmtputf8: (): Reply => make(553, '5.6.7', 'Must declare SMTPUTF8 to send unicode address'),
  /**
   * NUL is not allowed in a message (RFC 5322 section 2.3; RFC 2045 section 2.8 excludes it from
   * 8bit data). It is the content that is wrong: 554 transaction failed, RFC 3463 X.6.0.
   */
  nulByte: (): Reply => make(554, '5.6.0', 'Message content rejected: NUL character'),
  /**
   * A bare LF in DATA (RFC 5321 section 2.3.8: lines end in CRLF), the SMTP smuggling vector.
   * Postfix (smtpd_forbid_bare_newline) answers "550 5.5.2 Error: bare <LF> received": a protocol
   * violation, so X.5.2, and the same words so administrators recognise it.
   */
  bareLf: (): Reply => make(550, '5.5.2', 'Error: bare <LF> received'),
  /** A CR not followed by LF in DATA: the other half of the smuggling defence. */
  bareCr: (): Reply => make(550, '5.5.2', 'Error: bare <CR> received'),
  /** Our own trace header seen again. RFC 3463 X.4.6: routing loop detected. */
  loopDetected: (): Reply => make(554, '5.4.6', 'Mail forwarding loop detected'),
  /** Too many Received: headers (RFC 5321 section 6.3). Also X.4.6: the loop is why hops pile up. */
  tooManyHops: (): Reply => make(554, '5.4.6', 'Error: too many hops'),
  /** RFC 4954 section 6. */
  authRequired: (): Reply => make(530, '5.7.0', 'Authentication required'),
  /** RFC 3207 section 4. */
  tlsRequired: (): Reply => make(530, '5.7.0', 'Must issue a STARTTLS command first'),
  /** RFC 4954 section 6. */
  authFailed: (): Reply => make(535, '5.7.8', 'Authentication credentials invalid'),
} as const;

/** True for a well-formed reply whose enhanced class agrees with its basic code (RFC 2034). */
export function isReply(x: unknown): x is Reply {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  if (typeof r.code !== 'number' || !Number.isInteger(r.code) || r.code < 200 || r.code > 599) return false;
  if (typeof r.text !== 'string' || typeof r.enhanced !== 'string') return false;
  if (r.enhanced === '') return true;
  const m = ENHANCED.exec(r.enhanced);
  return m !== null && m[1] === String(r.code)[0];
}

function lines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((l) => l.replace(CONTROL, ' '));
}

/**
 * The wire form, CRLF-terminated. A multi-line reply repeats the code with "-"
 * on every line but the last (RFC 5321 section 4.2.1) and the enhanced code on
 * every line (RFC 2034 section 3). Control characters in the text become spaces.
 */
export function formatReply(r: Reply): string {
  const ls = lines(r.text);
  return ls
    .map((l, i) => `${r.code}${i < ls.length - 1 ? '-' : ' '}${r.enhanced ? `${r.enhanced} ` : ''}${l}`.trimEnd())
    .join('\r\n') + '\r\n';
}

/** What smtp-server reads from an error handed to its callbacks. */
export interface SmtpServerError extends Error {
  responseCode: number;
}

/**
 * Options the gateway passes to smtp-server: enhanced status codes on
 * (RFC 2034: ENHANCEDSTATUSCODES in the EHLO list, and a code in smtp-server's
 * own replies such as "250 2.1.0 Accepted"). smtp-server 3.21 prefixes a code
 * derived from the basic code (550 -> 5.1.1, even for a relay refusal) to
 * every reply, also to ours, which already carry the right one at the start of
 * their text; `sendContext` turns its prefix off for those, so a peer sees
 * exactly one code. replies.test.ts pins both behaviours of the installed
 * smtp-server.
 */
export const SMTP_SERVER_REPLY_OPTIONS = Object.freeze({ hideENHANCEDSTATUSCODES: false } as const);

const LEADING_ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

/**
 * The context to hand to smtp-server's send() for a reply: false (no code of
 * its own) when the text already starts with an enhanced code, else as given.
 */
export function sendContext(data: string | string[] | false | undefined, context: string | false | undefined): string | false | undefined {
  return typeof data === 'string' && LEADING_ENHANCED_CODE.test(data) ? false : context;
}

/**
 * The error to hand to an smtp-server callback: `responseCode` always set (its
 * fallback `|| 550` turns anything else into "mailbox unavailable"), and the
 * enhanced code at the start of the message. smtp-server writes the message on
 * one line, so a multi-line text is joined with spaces.
 */
export function toSmtpServerError(r: Reply): SmtpServerError {
  const text = lines(r.text).join(' ').replace(/\s+/g, ' ').trim();
  const err = new Error(r.enhanced ? `${r.enhanced} ${text}` : text) as SmtpServerError;
  err.responseCode = r.code;
  return err;
}

/** An error carrying the decision to refuse with `reply`; replyForError() gives that reply back. */
export function rejection(reply: Reply, message?: string): MbError {
  return new MbError(SmtpErrors.SMTP_REJECTED, message ?? `${reply.code} ${reply.enhanced} ${reply.text}`, {
    retry: reply.code >= 500 ? 'permanent' : 'transient',
    details: { reply },
  });
}

/**
 * The one edge function from an error to a wire reply (STYLE.md, "Errors and
 * replies"). A permanent MbError with a well-formed `details.reply` gives that
 * reply; a transient MbError may give its reply only when it is a 4xx; anything
 * else (a directory timeout, a bug, a thrown string) is 451 4.3.0. A peer never
 * sees err.message.
 */
export function replyForError(err: unknown): Reply {
  if (err instanceof MbError) {
    const r = err.details.reply;
    if (isReply(r) && r.code >= 400) {
      if (err.retry === 'permanent' || r.code < 500) return make(r.code, r.enhanced, r.text);
    }
  }
  return Reply.tempLocal();
}

/**
 * Parses a reply as received (one string with CRLF or LF between lines, or the
 * lines). The enhanced code is taken from the text only when its class matches
 * the basic code (RFC 2034); it is removed from every line of `text`.
 */
export function parseReply(wire: string | readonly string[]): Reply | undefined {
  const ls = (typeof wire === 'string' ? wire.split(/\r?\n/) : [...wire]).filter((l) => l.length > 0);
  if (ls.length === 0) return undefined;
  const code = /^([2-5]\d\d)(?:[ -]|$)/.exec(ls[0] ?? '')?.[1];
  if (code === undefined || !ls.every((l) => l.startsWith(code))) return undefined;
  const bodies = ls.map((l) => l.slice(4));
  const first = /^(\d\.\d{1,3}\.\d{1,3})(?:\s|$)/.exec(bodies[0] ?? '')?.[1];
  const enhanced = first !== undefined && first[0] === code[0] ? first : '';
  const text = bodies
    .map((b) => (enhanced && b.startsWith(enhanced) ? b.slice(enhanced.length).trimStart() : b))
    .join('\n');
  return make(Number(code), enhanced, text);
}
