/**
 * Pure parsing for the SMTP/LMTP and IMAP checks: lines in, values out. No I/O.
 * (Kept beside the checks: they read only greetings, EHLO/CAPABILITY and
 * tagged status lines, not the full grammars a client needs.)
 */

export interface SmtpLine {
  code: number;
  /** True for "250-..." continuation lines (RFC 5321 section 4.2.1). */
  more: boolean;
  text: string;
}

export function parseSmtpLine(line: string): SmtpLine | null {
  const m = /^([2-5]\d\d)([ -]|$)(.*)$/.exec(line);
  if (!m) return null;
  return { code: Number(m[1]), more: m[2] === '-', text: m[3] ?? '' };
}

export interface SmtpReply {
  code: number;
  lines: string[];
}

/** "250 ok" from a multi-line reply: the code and the first line's text. */
export function smtpReplyText(r: SmtpReply): string {
  return `${r.code} ${r.lines[0] ?? ''}`.trim();
}

/**
 * EHLO/LHLO keywords (RFC 5321 section 4.1.1.1): every line after the first is
 * "KEYWORD [params]"; keywords are case-insensitive, so upper-cased here.
 */
export function ehloCapabilities(r: SmtpReply): string[] {
  return r.lines.slice(1).map((l) => {
    const [kw, ...params] = l.trim().split(/\s+/);
    return [kw!.toUpperCase(), ...params].join(' ');
  }).filter((c) => c.length > 0);
}

export function hasExtension(caps: string[], keyword: string): boolean {
  return caps.some((c) => c.split(' ')[0] === keyword.toUpperCase());
}

export type ImapStatus = 'OK' | 'NO' | 'BAD' | 'PREAUTH' | 'BYE';

export interface ImapStatusLine {
  tag: string;
  status: ImapStatus;
  /** The response code in brackets, e.g. "AUTHENTICATIONFAILED" or "CAPABILITY IMAP4rev1 ...". */
  code?: string;
  text: string;
}

/** "* OK [CAPABILITY ...] ready" or "a1 NO [AUTHENTICATIONFAILED] Authentication failed." */
export function parseImapStatus(line: string): ImapStatusLine | null {
  const m = /^(\*|[A-Za-z0-9.]+) (OK|NO|BAD|PREAUTH|BYE)(?: \[([^\]]*)\])? ?(.*)$/i.exec(line);
  if (!m) return null;
  const out: ImapStatusLine = { tag: m[1]!, status: m[2]!.toUpperCase() as ImapStatus, text: m[4] ?? '' };
  if (m[3] !== undefined) out.code = m[3];
  return out;
}

/** Capabilities from "* CAPABILITY ..." or a "[CAPABILITY ...]" response code; null when it has none. */
export function imapCapabilities(lineOrCode: string): string[] | null {
  const m = /^(?:\* )?CAPABILITY (.+)$/i.exec(lineOrCode.trim());
  return m ? m[1]!.trim().split(/\s+/) : null;
}

export function hasCapability(caps: string[], name: string): boolean {
  const want = name.toUpperCase();
  return caps.some((c) => c.toUpperCase() === want);
}

/**
 * The capabilities migration cares about, in the order a summary lists them
 * (APPENDLIMIT with its value when the server gives one).
 */
const NOTABLE = ['IMAP4REV1', 'IMAP4REV2', 'UIDPLUS', 'CONDSTORE', 'QRESYNC', 'MULTIAPPEND', 'LITERAL+', 'LITERAL-',
  'SPECIAL-USE', 'MOVE', 'APPENDLIMIT', 'COMPRESS=DEFLATE'];

export function notableImapCapabilities(caps: string[]): string[] {
  const out: string[] = [];
  for (const name of NOTABLE) {
    const hit = caps.find((c) => c.toUpperCase() === name || c.toUpperCase().startsWith(`${name}=`));
    if (hit) out.push(hit);
  }
  return out;
}

/** SASL PLAIN (RFC 4616): authzid NUL authcid NUL password, base64. */
export function saslPlain(authzid: string, authcid: string, password: string): string {
  return Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8').toString('base64');
}

/** An IMAP quoted string (RFC 9051 section 4.3), or null when only a literal can carry it. */
export function imapQuoted(s: string): string | null {
  if (/[\r\n\0]/.test(s) || /[^\x01-\x7f]/.test(s)) return null;
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
