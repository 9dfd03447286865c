/**
 * The pure parsing half of the lean source reader (raw-imap.ts): FETCH answers
 * read out of a response's line text and literals, RFC 3501 dates, and UID
 * sequence-sets and ascending UID arrays. Bytes and strings in, values out; unit-tested in raw-imap.test.ts
 * and verify.test.ts.
 */

/** One server response: its line text (literals left out, "{n}" markers kept) and its literals in order. */
export interface RawResponse {
  text: string;
  literals: Buffer[];
}

/** A FETCH answer: what the copy asks for, nothing else. */
export interface FetchItem {
  uid: number;
  size?: number;
  flags?: string[];
  /** RFC 3501 date-time as the server sent it (checked by imapDateText), to be sent back as is on APPEND. */
  internalDate?: string;
  modseq?: bigint;
  body?: Buffer;
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS: Record<string, number> = Object.fromEntries(MONTH_NAMES.map((m, i) => [m.toLowerCase(), i]));

const DATE_TIME = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** RFC 3501 date-time ("02-Jan-2020 03:04:05 +0000") to a Date; undefined when malformed. */
export function parseImapDate(s: string): Date | undefined {
  const m = DATE_TIME.exec(s);
  if (!m) return undefined;
  const mon = MONTHS[m[2]!.toLowerCase()];
  if (mon === undefined) return undefined;
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return new Date(Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offset * 60_000);
}

/** RFC 3501 date-time, in UTC. */
export function imapDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getUTCDate()).padStart(2, ' ')}-${MONTH_NAMES[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (month: number, year: number) => (month === 1 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : MONTH_DAYS[month]!);

/**
 * An INTERNALDATE as the APPEND sends it: the server's text itself when it is a valid RFC 3501 date-time (the same
 * instant, the source's zone kept, no Date in between: the common case); otherwise (a one-digit day without its space,
 * 31-Feb, 24:00:00, ...) the instant it names, written in UTC as before; undefined when it names none.
 */
export function imapDateText(s: string): string | undefined {
  const m = DATE_TIME.exec(s);
  if (!m) return undefined;
  const mon = MONTHS[m[2]!.toLowerCase()];
  if (mon === undefined) return undefined;
  const day = Number(m[1]);
  if ((m[1]!.length === 2 || s.startsWith(' ')) && day >= 1 && day <= daysIn(mon, Number(m[3])) && Number(m[4]) < 24 && Number(m[5]) < 60
    && Number(m[6]) < 60 && Number(m[9]) < 60) return s;
  const d = parseImapDate(s);
  return d && !Number.isNaN(d.getTime()) ? imapDateTime(d) : undefined;
}

/** Reads an IMAP quoted string starting at s[i] === '"'; returns the value and the index after it. */
function readQuoted(s: string, i: number): { value: string; end: number } {
  let out = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === '\\') { out += s[++j] ?? ''; continue; }
    if (c === '"') return { value: out, end: j + 1 };
    out += c;
  }
  return { value: out, end: s.length };
}

/**
 * The items of one "* n FETCH (...)" response. The literals are not part of the
 * text, so nothing inside a message can be mistaken for an item.
 */
export function parseFetch(r: RawResponse): FetchItem | undefined {
  const t = r.text;
  const uidM = /[( ]UID (\d+)/.exec(t);
  if (!uidM) return undefined;
  const item: FetchItem = { uid: Number(uidM[1]) };
  const size = /[( ]RFC822\.SIZE (\d+)/.exec(t);
  if (size) item.size = Number(size[1]);
  const flags = /[( ]FLAGS \(([^)]*)\)/.exec(t);
  if (flags) item.flags = flags[1] === '' ? [] : flags[1]!.split(' ').filter((f) => f !== '');
  const modseq = /[( ]MODSEQ \((\d+)\)/.exec(t);
  if (modseq) item.modseq = BigInt(modseq[1]!);
  const date = t.indexOf('INTERNALDATE "');
  if (date >= 0) {
    const d = imapDateText(readQuoted(t, date + 13).value);
    if (d) item.internalDate = d;
  }
  const body = t.indexOf('BODY[] ');
  if (body >= 0) {
    const at = body + 7;
    if (t[at] === '{' || (t[at] === '~' && t[at + 1] === '{')) {
      // The literals before this one (none with the items we ask for, but be exact).
      let n = 0;
      const re = /~?\{\d+\+?\}/g;
      for (let m = re.exec(t); m && m.index < at; m = re.exec(t)) n++;
      item.body = r.literals[n] ?? Buffer.alloc(0);
    } else if (t[at] === '"') {
      item.body = Buffer.from(readQuoted(t, at).value, 'latin1');
    } else if (t.startsWith('NIL', at)) {
      item.body = Buffer.alloc(0);
    }
  }
  return item;
}

/** [1,2,3,5,7,8] -> "1:3,5,7:8" (RFC 3501 sequence-set). */
export function uidSet(uids: readonly number[]): string {
  const sorted = [...uids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    let b = a;
    while (i + 1 < sorted.length && sorted[i + 1] === b + 1) b = sorted[++i]!;
    parts.push(a === b ? String(a) : `${a}:${b}`);
  }
  return parts.join(',');
}

/** An RFC 3501 sequence-set of numbers ("1:3,7,9:12") as one ascending typed array, read without splitting it. */
export function expandSet(set: string): Uint32Array {
  const ranges: number[] = [];
  let total = 0;
  for (let i = 0; i < set.length;) {
    let a = 0;
    while (i < set.length && set.charCodeAt(i) >= 48 && set.charCodeAt(i) <= 57) a = a * 10 + set.charCodeAt(i++) - 48;
    let b = a;
    if (set[i] === ':') {
      i++;
      b = 0;
      while (i < set.length && set.charCodeAt(i) >= 48 && set.charCodeAt(i) <= 57) b = b * 10 + set.charCodeAt(i++) - 48;
    }
    if (set[i] === ',') i++;
    else if (i < set.length) throw new Error(`not a sequence-set: ${set.slice(0, 40)}`);
    if (a > 0 && b > 0) {
      ranges.push(Math.min(a, b), Math.max(a, b));
      total += Math.abs(b - a) + 1;
    }
  }
  const out = new Uint32Array(total);
  let n = 0;
  for (let r = 0; r < ranges.length; r += 2) for (let u = ranges[r]!; u <= ranges[r + 1]!; u++) out[n++] = u;
  return out.sort();
}

/** Index of `uid` in an ascending array, or -1 (binary search). */
export function indexOf(sorted: Uint32Array, uid: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const u = sorted[mid]!;
    if (u === uid) return mid;
    if (u < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** An IMAP quoted string (RFC 3501 4.3); also how a server's literal is inlined into a response line for the line parsers. */
export function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The items of the first `* STATUS` line among `untagged` (MESSAGES, UIDNEXT, UIDVALIDITY, ... upper-cased), or undefined. */
export function parseStatus(untagged: readonly string[]): Record<string, number> | undefined {
  for (const l of untagged) {
    // The attribute list is the last parenthesized part: the mailbox name before it may hold anything.
    const items = /^\* STATUS .*\(([^()]*)\)\s*$/i.exec(l)?.[1];
    if (items === undefined) continue;
    const out: Record<string, number> = {};
    for (const m of items.matchAll(/([A-Za-z-]+) (\d+)/g)) out[m[1]!.toUpperCase()] = Number(m[2]);
    return out;
  }
  return undefined;
}

/** The UIDs of `* SEARCH` lines, ascending. */
export function parseSearch(untagged: readonly string[]): number[] {
  const out: number[] = [];
  for (const l of untagged) {
    if (!/^\* SEARCH\b/i.test(l)) continue;
    for (const tok of l.slice(8).split(' ')) {
      if (/^\d+$/.test(tok)) out.push(Number(tok));
    }
  }
  return out.sort((a, b) => a - b);
}
