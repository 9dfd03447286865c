/**
 * Delivery status notifications: the RFC 3464 report the gateway sends back to
 * the envelope sender (RFC 3461 DSN extension, RFC 6522 multipart/report), the
 * xtext encoding of ENVID/ORCPT, and the rule for when not to send one.
 *
 * The report is built byte by byte: CRLF line ends, folded headers, and a
 * Content-Transfer-Encoding that tells the truth about 8-bit content (RFC 2045
 * 6.4: a multipart holding an 8bit part is itself 8bit). The gateway sends it
 * with BODY=8BITMIME when has8bit() says so, or builds it with sevenBitOnly for a
 * peer without 8BITMIME.
 */
import { createHash } from 'node:crypto';
import { MbError } from '../../core/index.js';
import { SmtpErrors } from './errors.js';
import { parseOrcpt, utf8AddrXtext, xtextEncode } from './xtext.js';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  /** The address we tried ("user@example.com", or already typed: "rfc822;user@example.com"). */
  finalRecipient: string;
  /** ORCPT as received ("rfc822;user+2Bx@example.com", xtext) or already decoded ("user+x@example.com"). */
  originalRecipient?: string;
  action: DsnAction;
  /** RFC 3463 status; its class must fit the action (failed 5, delayed 4, others 2). */
  status: string;
  /** Host name of the server that answered. */
  remoteMta?: string;
  /** "smtp; 550 5.1.1 ..." (the type is added when missing). */
  diagnosticCode?: string;
  lastAttempt?: Date;
  willRetryUntil?: Date;
}

export interface DsnInput {
  reportingMta: string;
  arrivalDate: Date;
  /** ENVID, decoded. */
  envId?: string;
  originalMessage: Buffer;
  ret: 'FULL' | 'HDRS';
  recipients: DsnRecipient[];
  /** The DSN's From address, MAILER-DAEMON@host. */
  from: string;
  /** The original envelope sender. */
  to: string;
  date: Date;
  /** Message-ID of the report, with or without angle brackets. */
  messageId: string;
  boundary?: string;
  /** With RET=FULL, an original larger than this is returned as headers only. */
  maxOriginalBytes?: number;
  /** The next hop has no 8BITMIME: 8-bit text becomes quoted-printable, an 8-bit original becomes its headers. */
  sevenBitOnly?: boolean;
}

const CRLF = '\r\n';
const STATUS = /^([245])\.\d{1,3}\.\d{1,3}$/;
const STATUS_CLASS: Record<DsnAction, string> = { failed: '5', delayed: '4', delivered: '2', relayed: '2', expanded: '2' };

// --- header and field formatting -----------------------------------------------------

/** RFC 5322 3.3 date-time, in UTC with a numeric zone ("GMT" is obsolete syntax). */
export function formatDate(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** One header field, folded at spaces to lines of at most 78 characters where words allow (RFC 5322 2.1.1, 2.2.3). */
export function foldHeader(name: string, value: string): string {
  const words = value.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = `${name}:`;
  for (const w of words) {
    if (line.length + 1 + w.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = ` ${w}`;
    } else {
      line += ` ${w}`;
    }
  }
  lines.push(line);
  return lines.join(CRLF) + CRLF;
}

/** Printable ASCII for fields that RFC 3464 defines as US-ASCII text (Diagnostic-Code and friends). */
function asciiText(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[^\x00-\x7f]/g, '?').replace(/\s+/g, ' ').trim();
}

/** "rfc822; addr", or "utf-8; <utf-8-addr-xtext>" for a non-ASCII address (RFC 6533). */
function typedAddress(value: string): string {
  const m = /^([A-Za-z0-9-]+);\s*(.*)$/.exec(value.trim());
  const type = m ? (m[1] as string).toLowerCase() : 'rfc822';
  const addr = (m ? (m[2] as string) : value.trim()).replace(/[\u0000-\u001f\u007f<>]/g, '');
  if (/[^\x00-\x7f]/.test(addr)) return `utf-8; ${utf8AddrXtext(addr)}`;
  return `${type}; ${addr}`;
}

function originalRecipient(value: string): string {
  const parsed = /^[A-Za-z0-9-]+;/.test(value.trim()) ? parseOrcpt(value) : { type: 'rfc822', address: value.trim() };
  return typedAddress(parsed ? `${parsed.type};${parsed.address}` : value);
}

function typed(value: string, defaultType: string): string {
  const v = asciiText(value);
  return /^[A-Za-z0-9-]+;/.test(v) ? v.replace(/^([A-Za-z0-9-]+);\s*/, '$1; ') : `${defaultType}; ${v}`;
}

// --- bytes -------------------------------------------------------------------------------

/** True when any octet has the high bit set: the content needs 8BITMIME to travel as it is. */
export function has8bit(buf: Buffer): boolean {
  for (const b of buf) if (b >= 0x80) return true;
  return false;
}

/** Bare LF becomes CRLF (RFC 5322 2.3: CR and LF only together); the result ends in CRLF. */
function normaliseLines(buf: Buffer): Buffer {
  const s = buf.toString('latin1').replace(/\r?\n/g, CRLF);
  return Buffer.from(s.endsWith(CRLF) || s.length === 0 ? s : s + CRLF, 'latin1');
}

/** The header section including the CRLF of its last field (up to the first empty line). */
function headerSection(buf: Buffer): Buffer {
  if (buf.subarray(0, 2).toString('latin1') === CRLF) return Buffer.alloc(0);
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  return end < 0 ? buf : buf.subarray(0, end + 2);
}

/** Quoted-printable (RFC 2045 6.7) of CRLF text, lines kept, soft breaks before 76 characters. */
function quotedPrintable(buf: Buffer): Buffer {
  const out: string[] = [];
  for (const line of buf.toString('latin1').split(CRLF)) {
    let cur = '';
    const bytes = Buffer.from(line, 'latin1');
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const plain = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      const enc = plain ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (cur.length + enc.length > 75) {
        out.push(`${cur}=`);
        cur = '';
      }
      cur += enc;
    });
    out.push(cur);
  }
  return Buffer.from(out.join(CRLF), 'latin1');
}

interface Part {
  headers: string;
  body: Buffer;
  eightBit: boolean;
}

function textPart(type: string, body: Buffer, sevenBitOnly: boolean, description: string): Part {
  const eight = has8bit(body);
  const cte = !eight ? '7bit' : sevenBitOnly ? 'quoted-printable' : '8bit';
  return {
    headers: foldHeader('Content-Description', description) + foldHeader('Content-Type', type) + foldHeader('Content-Transfer-Encoding', cte),
    body: cte === 'quoted-printable' ? quotedPrintable(body) : body,
    eightBit: cte === '8bit',
  };
}

// --- the report --------------------------------------------------------------------------

function check(input: DsnInput): void {
  const fail = (why: string): never => {
    throw new MbError(SmtpErrors.SMTP_DSN_INVALID, `DSN input: ${why}`);
  };
  if (input.recipients.length === 0) fail('no recipients');
  for (const r of input.recipients) {
    const m = STATUS.exec(r.status);
    if (!m) fail(`status "${r.status}" is not an RFC 3463 code`);
    else if (m[1] !== STATUS_CLASS[r.action]) fail(`status ${r.status} does not fit action ${r.action} (RFC 3464 2.3.3)`);
  }
}

function subjectFor(actions: Set<DsnAction>): string {
  if (actions.has('failed')) return 'Undelivered Mail Returned to Sender';
  if (actions.has('delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

const ACTION_WORDS: Record<DsnAction, string> = {
  failed: 'delivery failed permanently',
  delayed: 'delivery delayed, still trying',
  delivered: 'delivered',
  relayed: 'relayed to a system that sends no further notifications',
  expanded: 'delivered to a list or alias, which expanded it',
};

function wrap(text: string, indent: string): string[] {
  const out: string[] = [];
  let line = indent;
  for (const w of text.split(' ')) {
    if (line.length + w.length + 1 > 76 && line.trim() !== '') {
      out.push(line);
      line = indent;
    }
    line += line.trim() === '' ? w : ` ${w}`;
  }
  out.push(line);
  return out;
}

type Attached = 'full' | 'headers' | 'headers-too-large' | 'headers-8bit';

function humanText(input: DsnInput, attached: Attached): string {
  const actions = new Set(input.recipients.map((r) => r.action));
  const lines = [`This is the mail gateway at ${asciiText(input.reportingMta)}.`, ''];
  if (actions.has('failed')) lines.push('Your message could not be delivered to one or more recipients.');
  if (actions.has('delayed')) {
    const until = input.recipients.find((r) => r.action === 'delayed' && r.willRetryUntil)?.willRetryUntil;
    lines.push('Your message has not been delivered yet to one or more recipients.');
    lines.push(until ? `The gateway keeps trying until ${formatDate(until)}; you do not need to send it again.` : 'The gateway keeps trying; you do not need to send it again.');
  }
  if ([...actions].some((a) => a !== 'failed' && a !== 'delayed')) lines.push('This is a report of delivery to the recipients below.');
  lines.push(
    {
      full: 'The original message is attached.',
      headers: 'The header of the original message is attached.',
      'headers-too-large': 'The original message was too large to return; its header is attached.',
      'headers-8bit': 'The original message contains 8-bit data this path cannot carry; its header is attached.',
    }[attached],
    '',
  );
  for (const r of input.recipients) {
    const addr = r.finalRecipient.replace(/^[A-Za-z0-9-]+;\s*/, '').replace(/[\u0000-\u001f\u007f<>]/g, '');
    lines.push(`<${addr}>: ${ACTION_WORDS[r.action]} (status ${r.status})`);
    if (r.diagnosticCode) {
      const said = asciiText(r.diagnosticCode).replace(/^[A-Za-z0-9-]+;\s*/, '');
      lines.push(...wrap(`${r.remoteMta ? `${asciiText(r.remoteMta)} said` : 'reason'}: ${said}`, '    '));
    }
    lines.push('');
  }
  return lines.join(CRLF);
}

function statusBody(input: DsnInput): string {
  let s = foldHeader('Reporting-MTA', `dns; ${asciiText(input.reportingMta)}`);
  if (input.envId !== undefined) {
    // RFC 3464 2.2.1: the envelope id as given; xtext when it is not printable ASCII.
    const id = /^[\x21-\x7e]+$/.test(input.envId) ? input.envId : xtextEncode(input.envId);
    s += foldHeader('Original-Envelope-Id', id);
  }
  s += foldHeader('Arrival-Date', formatDate(input.arrivalDate));
  for (const r of input.recipients) {
    s += CRLF;
    if (r.originalRecipient) s += foldHeader('Original-Recipient', originalRecipient(r.originalRecipient));
    s += foldHeader('Final-Recipient', typedAddress(r.finalRecipient));
    s += foldHeader('Action', r.action);
    s += foldHeader('Status', r.status);
    if (r.remoteMta) s += foldHeader('Remote-MTA', typed(r.remoteMta, 'dns'));
    if (r.diagnosticCode) s += foldHeader('Diagnostic-Code', typed(r.diagnosticCode, 'smtp'));
    if (r.lastAttempt) s += foldHeader('Last-Attempt-Date', formatDate(r.lastAttempt));
    if (r.willRetryUntil) s += foldHeader('Will-Retry-Until', formatDate(r.willRetryUntil));
  }
  return s;
}

/**
 * What of the original to return. RFC 3461 4.3: RET=FULL asks for the whole
 * message in a *failed* DSN; delay and success reports carry the header only.
 */
function originalPart(input: DsnInput): { part: Part; attached: Attached } {
  const original = normaliseLines(input.originalMessage);
  const wantFull = input.ret === 'FULL' && input.recipients.some((r) => r.action === 'failed');
  const tooLarge = input.maxOriginalBytes !== undefined && original.length > input.maxOriginalBytes;
  const eight = has8bit(original);
  if (wantFull && !tooLarge && !(eight && input.sevenBitOnly)) {
    // RFC 2046 5.2.1: message/rfc822 may only be 7bit, 8bit or binary; never encoded.
    const headers = foldHeader('Content-Description', 'Undelivered Message') + foldHeader('Content-Type', 'message/rfc822') +
      foldHeader('Content-Transfer-Encoding', eight ? '8bit' : '7bit');
    return { part: { headers, body: original, eightBit: eight }, attached: 'full' };
  }
  const attached: Attached = !wantFull ? 'headers' : tooLarge ? 'headers-too-large' : 'headers-8bit';
  return { part: textPart('text/rfc822-headers', headerSection(original), input.sevenBitOnly ?? false, 'Message Headers'), attached };
}

function pickBoundary(input: DsnInput, bodies: Buffer[]): string {
  const base = input.boundary ?? `=_mb_${createHash('sha256').update(`${input.messageId}\0${input.date.toISOString()}`).digest('hex').slice(0, 24)}`;
  let b = base;
  for (let n = 1; bodies.some((body) => body.includes(`--${b}`, 0, 'latin1')); n++) b = `${base}_${n}`;
  return b;
}

/** Builds the RFC 3464 report (multipart/report; report-type=delivery-status, RFC 6522). */
export function buildDsn(input: DsnInput): Buffer {
  check(input);
  const { part: original, attached } = originalPart(input);
  const notice = textPart('text/plain; charset=utf-8', Buffer.from(humanText(input, attached), 'utf8'), input.sevenBitOnly ?? false, 'Notification');
  const status: Part = {
    headers: foldHeader('Content-Description', 'Delivery report') + foldHeader('Content-Type', 'message/delivery-status'),
    body: Buffer.from(statusBody(input), 'latin1'),
    eightBit: false,
  };
  const parts = [notice, status, original];
  const boundary = pickBoundary(input, parts.map((p) => p.body));
  const eight = parts.some((p) => p.eightBit);
  const id = input.messageId.replace(/^<|>$/g, '').replace(/[\s<>]/g, '');
  const clean = (a: string): string => a.replace(/[\u0000-\u001f\u007f<>]/g, '').trim();

  const head =
    foldHeader('From', `Mail Delivery System <${clean(input.from)}>`) +
    foldHeader('To', `<${clean(input.to)}>`) +
    foldHeader('Subject', subjectFor(new Set(input.recipients.map((r) => r.action)))) +
    foldHeader('Date', formatDate(input.date)) +
    foldHeader('Message-ID', `<${id}>`) +
    foldHeader('Auto-Submitted', 'auto-replied') +
    foldHeader('MIME-Version', '1.0') +
    foldHeader('Content-Type', `multipart/report; report-type=delivery-status; boundary="${boundary}"`) +
    foldHeader('Content-Transfer-Encoding', eight ? '8bit' : '7bit') +
    CRLF +
    'This is a MIME-encapsulated message.' + CRLF;

  const chunks: Buffer[] = [Buffer.from(head, 'latin1')];
  for (const p of parts) {
    chunks.push(Buffer.from(`${CRLF}--${boundary}${CRLF}${p.headers}${CRLF}`, 'latin1'), p.body);
    // The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1): every body ends in one of its own.
    if (p.body.length > 0 && !p.body.subarray(-2).equals(Buffer.from(CRLF))) chunks.push(Buffer.from(CRLF));
  }
  chunks.push(Buffer.from(`${CRLF}--${boundary}--${CRLF}`, 'latin1'));
  return Buffer.concat(chunks);
}

// --- when not to send one ------------------------------------------------------------------

export interface DsnCandidate {
  /** The original envelope sender, with or without angle brackets; '' or '<>' is the null sender. */
  envelopeFrom: string;
  /** Header fields of the original, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** The caller already knows the original is a DSN. */
  isDsn?: boolean;
}

export interface DsnPolicy {
  /**
   * Suppress for Auto-Submitted other than "no" (default true). RFC 5321 6.1
   * requires a non-delivery notice for any non-null sender and RFC 3834 is about
   * auto-responders, not DSNs; but a DSN goes out with a null sender and cannot
   * loop, so this only trades notices for less backscatter. False follows RFC 5321.
   */
  honourAutoSubmitted?: boolean;
}

function first(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/** multipart/report with report-type=delivery-status (RFC 6522, RFC 3464): a DSN. */
function isDeliveryReport(contentType: string | undefined): boolean {
  if (!contentType || !/^\s*multipart\/report\s*(;|$)/i.test(contentType)) return false;
  return /;\s*report-type\s*=\s*"?delivery-status"?\s*(;|$)/i.test(contentType);
}

/**
 * Whether a DSN may be sent for this message. Never to the null sender (RFC
 * 5321 4.5.5, RFC 3461 6.2), never for a DSN (that is how bounce loops start),
 * never to MAILER-DAEMON (a sender some MTAs use instead of <> for their own
 * notices), and, by default, never for Auto-Submitted other than "no".
 */
export function shouldSendDsn(original: DsnCandidate, policy: DsnPolicy = {}): { send: boolean; reason?: string } {
  const from = original.envelopeFrom.trim().replace(/^<(.*)>$/, '$1').trim();
  if (from === '') return { send: false, reason: 'null sender' };
  const at = from.lastIndexOf('@');
  if ((at < 0 ? from : from.slice(0, at)).toLowerCase() === 'mailer-daemon') return { send: false, reason: 'sender is MAILER-DAEMON' };
  if (original.isDsn || isDeliveryReport(first(original.headers['content-type']))) return { send: false, reason: 'message is a DSN' };
  const auto = first(original.headers['auto-submitted'])?.split(/[;(\s]/)[0]?.trim().toLowerCase();
  if ((policy.honourAutoSubmitted ?? true) && auto && auto !== 'no') return { send: false, reason: `Auto-Submitted: ${auto}` };
  return { send: true };
}
