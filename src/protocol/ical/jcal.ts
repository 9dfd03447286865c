/**
 * Reading iCalendar text with ical.js into jCal, once per text. One bad line
 * makes ICAL.parse throw for the whole text, so on failure the text is cut
 * into its VEVENT / VTIMEZONE / VFREEBUSY blocks and each is parsed alone: a
 * broken event is skipped, its neighbours still count. Reasons are our own
 * fixed strings: ical.js messages quote the offending line, which may be a
 * SUMMARY, and event text must never reach the output.
 */
import ICAL from 'ical.js';
import type { BusyNote } from './types.js';
import { type JComp, type JProp, type Zone, vtimezoneZone } from './zones.js';

export interface Calendar {
  vevents: JComp[];
  /** Embedded VTIMEZONEs by TZID (first definition wins); null when unusable. */
  vtimezones: Map<string, Zone | null>;
  vfreebusy: JComp[];
}

// CalDAV answers repeat the same VTIMEZONE in every resource. Parsing and
// expanding it once per distinct text (not per resource) is most of the
// speed of a 200-person query. Keyed by the block's exact text, bounded.
const vtzMemo = new Map<string, { tzid: string; zone: Zone | null } | null>();

function zoneFromBlock(block: string): { tzid: string; zone: Zone | null } | null {
  let hit = vtzMemo.get(block);
  if (hit !== undefined) return hit;
  hit = null;
  try {
    const c = ICAL.parse(block) as unknown;
    const tzid = isComp(c) ? prop(c, 'tzid')?.[3] : undefined;
    if (isComp(c) && typeof tzid === 'string') hit = { tzid, zone: vtimezoneZone(c) ?? null };
  } catch {
    // an unreadable VTIMEZONE: its TZID is then resolved by name
  }
  if (vtzMemo.size >= 500) vtzMemo.clear();
  vtzMemo.set(block, hit);
  return hit;
}

const WANTED = new Set(['vevent', 'vtimezone', 'vfreebusy']);

function isComp(x: unknown): x is JComp {
  return Array.isArray(x) && typeof x[0] === 'string' && Array.isArray(x[1]) && Array.isArray(x[2]);
}

function collect(node: unknown, cal: Calendar): void {
  if (!isComp(node)) {
    if (Array.isArray(node)) for (const n of node) collect(n, cal);
    return;
  }
  const name = node[0];
  if (name === 'vevent') cal.vevents.push(node);
  else if (name === 'vfreebusy') cal.vfreebusy.push(node);
  else if (name === 'vtimezone') {
    const tzid = prop(node, 'tzid')?.[3];
    if (typeof tzid === 'string' && !cal.vtimezones.has(tzid)) cal.vtimezones.set(tzid, vtimezoneZone(node) ?? null);
  } else for (const c of node[2]) collect(c, cal);
}

/** First property of a name (lower case, as in jCal). */
export function prop(c: JComp, name: string): JProp | undefined {
  for (const p of c[1]) if (p[0] === name) return p;
  return undefined;
}

/** A property's first value when it is a string. */
export function text(c: JComp, name: string): string | undefined {
  const v = prop(c, name)?.[3];
  return typeof v === 'string' ? v : undefined;
}

function uidOf(block: string): string | undefined {
  const m = /^UID[;:](.*)$/im.exec(block);
  if (!m) return undefined;
  const v = m[1]!;
  const i = v.indexOf(':');
  return (m[0][3] === ';' && i >= 0 ? v.slice(i + 1) : v).trim() || undefined;
}

/** Splits unfolded text into top-level wanted blocks (BEGIN:VEVENT ... END:VEVENT). */
function blocks(textIn: string): string[] {
  const lines = textIn.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  const out: string[] = [];
  let cur: string[] | undefined;
  let name = '';
  let depth = 0;
  for (const line of lines) {
    const m = /^(BEGIN|END):([A-Za-z0-9-]+)\s*$/.exec(line);
    if (!cur) {
      if (m && m[1]!.toUpperCase() === 'BEGIN' && WANTED.has(m[2]!.toLowerCase())) {
        cur = [line];
        name = m[2]!.toLowerCase();
        depth = 1;
      }
      continue;
    }
    cur.push(line);
    if (m && m[2]!.toLowerCase() === name) depth += m[1]!.toUpperCase() === 'BEGIN' ? 1 : -1;
    if (depth === 0) {
      out.push(cur.join('\r\n') + '\r\n');
      cur = undefined;
    }
  }
  if (cur) out.push(cur.join('\r\n') + '\r\n'); // unterminated: let the parser refuse it
  return out;
}

/**
 * Cuts the VTIMEZONE blocks out of the text (plain upper-case ones, as every
 * producer writes them; any other spelling is still read by the parser) and
 * resolves them through the memo.
 */
function takeVtimezones(input: string, cal: Calendar): string {
  let from = input.indexOf('BEGIN:VTIMEZONE');
  if (from < 0) return input;
  let out = '';
  let last = 0;
  while (from >= 0) {
    const endAt = input.indexOf('END:VTIMEZONE', from);
    if (endAt < 0) break;
    let stop = endAt + 'END:VTIMEZONE'.length;
    if (input[stop] === '\r') stop++;
    if (input[stop] === '\n') stop++;
    const z = zoneFromBlock(input.slice(from, stop));
    if (z && !cal.vtimezones.has(z.tzid)) cal.vtimezones.set(z.tzid, z.zone);
    out += input.slice(last, from);
    last = stop;
    from = input.indexOf('BEGIN:VTIMEZONE', stop);
  }
  return out + input.slice(last);
}

/** Parses one calendar text; broken parts go to `skipped`, never a throw. */
export function readCalendar(input: string, skipped: BusyNote[]): Calendar {
  const cal: Calendar = { vevents: [], vtimezones: new Map(), vfreebusy: [] };
  // RRULE values are handed to ical.js as an x-property, i.e. as raw text we
  // parse ourselves (recur-rule.ts): ical.js's recur parser is the slowest
  // part of its parse, and one bad RRULE makes it refuse the whole text.
  const source = takeVtimezones(input, cal).replace(/^RRULE(?=[;:])/gm, 'X-MAILBRIDGE-RRULE');
  try {
    collect(ICAL.parse(source), cal);
    if (!cal.vevents.length && !cal.vfreebusy.length && !/BEGIN:V(CALENDAR|EVENT|FREEBUSY)/i.test(source)) {
      skipped.push({ reason: 'not iCalendar data' });
    }
    return cal;
  } catch {
    // fall through to per-block parsing
  }
  const parts = blocks(source);
  if (!parts.length) {
    skipped.push({ reason: 'unparseable calendar' });
    return cal;
  }
  for (const b of parts) {
    try {
      collect(ICAL.parse(b), cal);
    } catch {
      const kind = /^BEGIN:(\S+)/i.exec(b)?.[1]?.toUpperCase() ?? 'component';
      const uid = uidOf(b);
      skipped.push(uid === undefined ? { reason: `unparseable ${kind}` } : { uid, reason: `unparseable ${kind}` });
    }
  }
  return cal;
}
