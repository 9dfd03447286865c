/**
 * Published free/busy (RFC 5545 3.6.4 VFREEBUSY, 3.8.2.6 FREEBUSY): reading a
 * .vfb into periods, and writing our answer as one.
 */
import { MbError } from '../../core/errors.js';
import { DAY, type TimeValue, formatUtc, parseDuration, parseTimeValue } from './civil.js';
import { IcalErrors } from './errors.js';
import { readCalendar, text } from './jcal.js';
import { mergePeriods, mergeRaw, toPeriods } from './merge.js';
import { makeRun } from './busy.js';
import { BUSY_RANK, type BusyOptions, type BusyPeriod, type BusyResult, type BusyType } from './types.js';
import { type JProp, type Zone, resolveZoneName } from './zones.js';

/** RFC 5545 3.2.9: FREE adds nothing; an unknown or x-name FBTYPE counts as BUSY. */
function fbRank(p: JProp): number {
  const t = p[1].fbtype;
  const v = typeof t === 'string' ? t.trim().toUpperCase() : 'BUSY';
  if (v === 'FREE') return 0;
  return BUSY_RANK[v as BusyType] ?? BUSY_RANK.BUSY;
}

function toUtc(t: TimeValue, p: JProp, floating: Zone): number {
  if (t.utc) return t.local;
  // FREEBUSY values MUST be UTC; a floating (or TZID'd) one is read leniently.
  const tzid = p[1].tzid;
  const z = typeof tzid === 'string' ? (resolveZoneName(tzid) ?? floating) : floating;
  return z.toUtc(t.local);
}

/** One FREEBUSY value: "start/end" or "start/duration" (jCal gives [start, x]). */
function periodOf(v: unknown, p: JProp, floating: Zone): [number, number] | undefined {
  const pair = Array.isArray(v) ? v : typeof v === 'string' ? v.split('/') : [];
  const start = parseTimeValue(pair[0]);
  if (!start || start.date) return undefined;
  const s = toUtc(start, p, floating);
  const end = parseTimeValue(pair[1]);
  if (end && !end.date) return [s, toUtc(end, p, floating)];
  const d = parseDuration(pair[1]);
  return d ? [s, s + d.days * DAY + d.seconds] : undefined;
}

/**
 * Busy periods from a published VFREEBUSY (.vfb): every FREEBUSY property of
 * every VFREEBUSY, clipped to the window, merged. Bad values are skipped.
 */
export function busyFromFreeBusy(icsText: string, opts: Pick<BusyOptions, 'start' | 'end' | 'floatingZone'>): BusyResult {
  const run = makeRun(opts);
  const cal = readCalendar(icsText, run.result.skipped);
  if (!cal.vfreebusy.length && !run.result.skipped.length) run.result.skipped.push({ reason: 'no VFREEBUSY component' });
  for (const c of cal.vfreebusy) {
    const uid = text(c, 'uid');
    let bad = 0;
    for (const p of c[1]) {
      if (p[0] !== 'freebusy') continue;
      const rank = fbRank(p);
      for (const v of p.slice(3)) {
        const per = periodOf(v, p, run.floating);
        if (!per || per[1] < per[0]) {
          bad++;
          continue;
        }
        const s = Math.max(per[0] * 1000, run.fromMs);
        const e = Math.min(per[1] * 1000, run.toMs);
        if (rank > 0 && e > s) {
          run.raw.start.push(s);
          run.raw.end.push(e);
          run.raw.rank.push(rank);
        }
      }
    }
    if (bad) run.result.skipped.push(uid === undefined ? { reason: `${bad} invalid FREEBUSY periods` } : { uid, reason: `${bad} invalid FREEBUSY periods` });
  }
  run.result.periods = toPeriods(mergeRaw(run.raw));
  return run.result;
}

export interface VFreeBusyInput {
  organizer?: string;
  attendee: string;
  start: Date;
  end: Date;
  periods: BusyPeriod[];
  dtstamp: Date;
  /** X- properties, e.g. { 'X-MAILBRIDGE-STATUS': 'partial' }. */
  extra?: Record<string, string>;
  /**
   * PUBLISH (default): a published free/busy document, as an Internet
   * free/busy URL serves and Outlook reads. REPLY: an iTIP answer to a
   * VFREEBUSY REQUEST (RFC 5546 3.3.3), which needs the request's ORGANIZER.
   * null: no METHOD, as in a CalDAV free-busy-query answer (RFC 4791 7.10).
   */
  method?: 'PUBLISH' | 'REPLY' | null;
  /** UID of the VFREEBUSY; default derived from attendee and times (stable for equal input). */
  uid?: string;
}

const enc = new TextEncoder();

/** RFC 5545 3.1: lines of at most 75 octets, continued with CRLF + space, never inside a UTF-8 sequence. */
export function foldLine(line: string): string {
  if (enc.encode(line).length <= 75) return line;
  const out: string[] = [];
  let cur = '';
  let octets = 0;
  for (const ch of line) {
    const n = enc.encode(ch).length;
    const limit = out.length ? 74 : 75; // continuation lines start with a space
    if (octets + n > limit) {
      out.push(cur);
      cur = '';
      octets = 0;
    }
    cur += ch;
    octets += n;
  }
  out.push(cur);
  return out.join('\r\n ');
}

function checkValue(name: string, v: string): string {
  if (/[\r\n\0]/.test(v)) throw new MbError(IcalErrors.ICAL_FORMAT_INVALID, `${name} must not contain line breaks`);
  return v;
}

function calAddress(name: string, v: string): string {
  const a = checkValue(name, v.trim());
  return /^[a-z][a-z0-9+.-]*:/i.test(a) ? a : `mailto:${a}`;
}

/** TEXT escaping (RFC 5545 3.3.11). */
function escapeText(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** A VCALENDAR with one VFREEBUSY (RFC 5545 3.6.4), CRLF line ends, folded. */
export function formatVFreeBusy(input: VFreeBusyInput): string {
  const method = input.method === undefined ? 'PUBLISH' : input.method;
  if (method === 'REPLY' && !input.organizer) {
    throw new MbError(IcalErrors.ICAL_FORMAT_INVALID, 'a METHOD:REPLY VFREEBUSY needs the ORGANIZER of the request');
  }
  const from = input.start.getTime();
  const to = input.end.getTime();
  if (!(from < to)) throw new MbError(IcalErrors.ICAL_WINDOW_INVALID, 'free/busy window must have start < end');
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//mailbridge//free-busy//EN'];
  if (method) lines.push(`METHOD:${method}`);
  lines.push('BEGIN:VFREEBUSY');
  const uid = input.uid ?? `${formatUtc(from)}-${formatUtc(to)}-${hash(input.attendee)}@mailbridge`;
  lines.push(`UID:${escapeText(checkValue('uid', uid))}`, `DTSTAMP:${formatUtc(input.dtstamp.getTime())}`);
  lines.push(`DTSTART:${formatUtc(from)}`, `DTEND:${formatUtc(to)}`);
  if (input.organizer) lines.push(`ORGANIZER:${calAddress('organizer', input.organizer)}`);
  lines.push(`ATTENDEE:${calAddress('attendee', input.attendee)}`);
  const clipped = mergePeriods(input.periods)
    .map((p) => ({ s: Math.max(p.start.getTime(), from), e: Math.min(p.end.getTime(), to), type: p.type }))
    .filter((p) => p.e > p.s);
  // One FREEBUSY per type, each with its periods in ascending order (3.8.2.6).
  for (const type of ['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'] as const) {
    const ps = clipped.filter((p) => p.type === type).map((p) => `${formatUtc(p.s)}/${formatUtc(p.e)}`);
    if (ps.length) lines.push(`FREEBUSY;FBTYPE=${type}:${ps.join(',')}`);
  }
  for (const [k, v] of Object.entries(input.extra ?? {})) {
    if (!/^X-[A-Z0-9-]+$/i.test(k)) throw new MbError(IcalErrors.ICAL_FORMAT_INVALID, 'extra property names must be X- names');
    lines.push(`${k.toUpperCase()}:${escapeText(checkValue(k, v))}`);
  }
  lines.push('END:VFREEBUSY', 'END:VCALENDAR');
  return lines.map(foldLine).join('\r\n') + '\r\n';
}
