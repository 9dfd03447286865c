/**
 * RFC 5321 paths and mailboxes as the gateway's recipient and relay policy
 * needs them: syntax (section 4.1.2, with RFC 6531 for SMTPUTF8), the size
 * limits of section 4.5.3.1, and the sender-specified routing tricks that turn
 * an address in one of our domains into a relay through us.
 */
import { Reply, type AddressRole, type RoutingKind } from './replies.js';

export interface MailboxOptions {
  /** Whose address it is; picks X.1.3 (recipient) or X.1.7 (sender) in refusals. Default recipient. */
  role?: AddressRole;
  /** The transaction declared SMTPUTF8 (RFC 6531): non-ASCII local parts and U-labels allowed. */
  smtputf8?: boolean;
  /**
   * RFC 5321 4.5.1: RCPT TO:<Postmaster> without a domain must be accepted; it
   * means postmaster at this domain. Without this option it is a syntax error.
   */
  postmasterDomain?: string;
}

export type ParsedMailbox =
  | {
      ok: true;
      /** The local part without quotes and quoted-pairs (case preserved: RFC 5321 2.4). */
      local: string;
      /** Lower-cased; an address literal keeps its brackets. */
      domain: string;
      /** The local part was a quoted-string on the wire. */
      quoted: boolean;
      /** local@domain, the local part quoted only when it is not a dot-atom. */
      address: string;
      /** The domain is an address literal ([192.0.2.1], [IPv6:...]). */
      literal: boolean;
      /** A source route given before the mailbox (RFC 5321 4.1.2 A-d-l), accepted and ignored (Appendix C). */
      route?: string[];
    }
  | { ok: false; reply: Reply };

const MAX_LOCAL = 64; // RFC 5321 4.5.3.1.1
const MAX_DOMAIN = 255; // RFC 5321 4.5.3.1.2
const MAX_PATH = 256; // RFC 5321 4.5.3.1.3, including "<" and ">"
const MAX_LABEL = 63; // RFC 1035 2.3.4

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-";
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);
const DOT_ATOM_UTF8 = new RegExp(`^[${ATEXT}\\u0080-\\u{10FFFF}]+(?:\\.[${ATEXT}\\u0080-\\u{10FFFF}]+)*$`, 'u');
const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const ULABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u;
const NON_ASCII = /[^\x00-\x7f]/;

const octets = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Removes one pair of angle brackets: smtp-server hands over the address without them, a raw path has them. */
function unbracket(raw: string): string {
  const s = raw.trim();
  return s.startsWith('<') && s.endsWith('>') ? s.slice(1, -1) : s;
}

/** Splits "@a,@b:mailbox" into the route and the mailbox (RFC 5321 4.1.2 Path / A-d-l). */
function splitRoute(inner: string): { route: string[]; mailbox: string } | undefined {
  const route: string[] = [];
  let i = 0;
  while (inner[i] === '@') {
    // At-domain = "@" Domain; a domain here is a name or an address literal ("[IPv6:...]" holds colons).
    const end = inner[i + 1] === '[' ? inner.indexOf(']', i) + 1 : inner.slice(i).search(/[,:]/) + i;
    if (end <= i + 1) return undefined;
    route.push(inner.slice(i + 1, end).toLowerCase());
    if (inner[end] === ':') return { route, mailbox: inner.slice(end + 1) };
    if (inner[end] !== ',') return undefined;
    i = end + 1;
  }
  return i === 0 ? { route, mailbox: inner } : undefined;
}

/** Reads a quoted-string local part (RFC 5321 4.1.2 Quoted-string); returns its content and the rest. */
function readQuoted(s: string, utf8: boolean): { content: string; wire: string; rest: string } | undefined {
  let content = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') return { content, wire: s.slice(0, i + 1), rest: s.slice(i + 1) };
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined || n < ' ' || n > '~') return undefined; // quoted-pairSMTP = %d92 %d32-126
      content += n;
      i++;
      continue;
    }
    const code = c.codePointAt(0) ?? 0;
    const qtext = (code >= 32 && code <= 126) || (utf8 && code >= 0x80); // qtextSMTP; "\"" and "\\" handled above
    if (!qtext) return undefined;
    content += c;
  }
  return undefined;
}

function validIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** IPv6 by the WHATWG URL parser (pure; no node:net in protocol/). */
function validIpv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  try {
    return new URL(`http://[${s}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** A domain name or an address literal (RFC 5321 4.1.2 Domain / address-literal, 4.1.3). */
export function validDomain(domain: string, smtputf8 = false): boolean {
  if (domain.startsWith('[')) {
    if (!domain.endsWith(']')) return false;
    const lit = domain.slice(1, -1);
    // General-address-literal needs an IANA-registered tag; only IPv6 is registered.
    return /^ipv6:/i.test(lit) ? validIpv6(lit.slice(5)) : validIpv4(lit);
  }
  if (domain.length === 0 || octets(domain) > MAX_DOMAIN) return false;
  return domain.split('.').every((label) => {
    if (label.length === 0 || octets(label) > MAX_LABEL) return false;
    if (LDH_LABEL.test(label)) return true;
    return smtputf8 && NON_ASCII.test(label) && ULABEL.test(label);
  });
}

function quoteLocal(local: string, utf8: boolean): string {
  if ((utf8 ? DOT_ATOM_UTF8 : DOT_ATOM).test(local)) return local;
  return `"${local.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * Parses a forward- or reverse-path (with or without "<>") into a mailbox. The
 * null path "<>" is not a mailbox: check for it first (isNullPath).
 *
 * Limits are checked part by part before the whole path, so a 65-octet local
 * part is named as such. Note that a path of 256 octets leaves at most 254 for
 * the mailbox: a 255-octet domain passes validDomain() but no mailbox can carry
 * it (RFC 5321 4.5.3.1.3 beats 4.5.3.1.2; RFC 3696 erratum 1690: 254 octets).
 */
export function parseMailbox(raw: string, opts: MailboxOptions = {}): ParsedMailbox {
  const role = opts.role ?? 'recipient';
  const utf8 = opts.smtputf8 ?? false;
  const bad = { ok: false as const, reply: Reply.badAddressSyntax(role) };
  const inner = unbracket(raw);
  const routed = splitRoute(inner);
  if (!routed) return bad;
  const { route, mailbox } = routed;

  if (role === 'recipient' && opts.postmasterDomain && route.length === 0 && mailbox.toLowerCase() === 'postmaster') {
    const domain = opts.postmasterDomain.toLowerCase();
    return { ok: true, local: 'postmaster', domain, quoted: false, address: `postmaster@${domain}`, literal: false };
  }
  if (NON_ASCII.test(inner) && !utf8) return { ok: false, reply: Reply.needsSmtputf8() };

  let local: string;
  let wireLocal: string;
  let domain: string;
  const quoted = mailbox.startsWith('"');
  if (quoted) {
    const q = readQuoted(mailbox, utf8);
    if (!q || !q.rest.startsWith('@')) return bad;
    ({ content: local, wire: wireLocal } = q);
    domain = q.rest.slice(1);
  } else {
    const at = mailbox.indexOf('@');
    if (at < 0) return bad;
    local = wireLocal = mailbox.slice(0, at);
    domain = mailbox.slice(at + 1);
  }

  if (octets(wireLocal) > MAX_LOCAL) return { ok: false, reply: Reply.localPartTooLong(role) };
  if (octets(domain) > MAX_DOMAIN) return { ok: false, reply: Reply.domainTooLong(role) };
  if (octets(inner) + 2 > MAX_PATH) return { ok: false, reply: Reply.pathTooLong(role) };
  if (local.length === 0) return bad;
  if (!quoted && !(utf8 ? DOT_ATOM_UTF8 : DOT_ATOM).test(local)) return bad;
  if (!validDomain(domain, utf8)) return bad;

  const d = domain.toLowerCase();
  const out = { ok: true as const, local, domain: d, quoted, address: `${quoteLocal(local, utf8)}@${d}`, literal: d.startsWith('[') };
  return route.length ? { ...out, route } : out;
}

/** The null reverse-path "<>" (RFC 5321 4.1.1.2, 4.5.5). */
export function isNullPath(raw: string): boolean {
  return unbracket(raw) === '' && raw.trim() !== '';
}

/**
 * Sender-specified routing hidden in an address (RFC 5321 Appendix C and
 * 3.6.1, and the % and ! conventions it mentions). Each hands the message on to
 * another host while the domain we see is ours, which is how open relays are
 * found; the gateway refuses them with Reply.routingDenied(kind), 554 5.7.1
 * like any relay refusal (a policy decision, not a syntax error: all of them are
 * valid RFC 5321 syntax except the bare double @).
 *
 * - `@example.com:user@other`: a source route. RFC 5321 says to ignore the route,
 *   leaving user@other, a relay; and software that honours it is exploited.
 * - `user%other@example.com`: the percent hack (a backend may route on it).
 * - `other!user@example.com`: a UUCP bang path.
 * - `"user@other"@example.com`: an @ inside a quoted local part.
 * - `user@other@example.com`: two @ (a parser that splits at the last @ sees ours).
 *
 * Apply it to addresses in our domains; for other domains the relay check
 * decides anyway. Returns undefined when the address has none of them.
 */
export function relayTrick(raw: string): RoutingKind | undefined {
  const inner = unbracket(raw);
  if (inner.startsWith('@')) return 'source-route';
  let local: string;
  if (inner.startsWith('"')) {
    const q = readQuoted(inner, true);
    if (!q) return undefined; // not a mailbox at all; parseMailbox refuses it
    if (q.rest.slice(1).includes('@')) return 'multiple-at';
    local = q.content;
    if (local.includes('@')) return 'quoted-at';
  } else {
    const at = inner.indexOf('@');
    if (at !== inner.lastIndexOf('@')) return 'multiple-at';
    local = at < 0 ? inner : inner.slice(0, at);
  }
  if (local.includes('%')) return 'percent-hack';
  if (local.includes('!')) return 'bang-path';
  return undefined;
}
