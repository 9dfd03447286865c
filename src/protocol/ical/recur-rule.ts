/**
 * RRULE values (RFC 5545 3.3.10) read from ical.js's jCal recur object into a
 * validated, numeric form. Anything out of range makes the rule invalid; the
 * caller skips that event with the reason returned here.
 */
import { type TimeValue, parseTimeValue } from './civil.js';

/** FREQ as a number, finest first, so "freq >= Freq.DAILY" reads as "daily or coarser". */
export const Freq = { SECONDLY: 0, MINUTELY: 1, HOURLY: 2, DAILY: 3, WEEKLY: 4, MONTHLY: 5, YEARLY: 6 } as const;
export type Freq = (typeof Freq)[keyof typeof Freq];

const FREQS: Readonly<Record<string, Freq>> = Freq;

/** Weekday codes, 0 = Monday (as civil.weekday). */
const WEEKDAYS: Record<string, number> = { MO: 0, TU: 1, WE: 2, TH: 3, FR: 4, SA: 5, SU: 6 };

export interface ByDay {
  wd: number;
  /** 0 for "every such weekday", else the ordinal (+2 = second, -1 = last). */
  n: number;
}

export interface Rule {
  freq: Freq;
  interval: number;
  count?: number;
  until?: TimeValue;
  bySecond?: number[];
  byMinute?: number[];
  byHour?: number[];
  byDay?: ByDay[];
  byMonthDay?: number[];
  byYearDay?: number[];
  byWeekNo?: number[];
  byMonth?: number[];
  bySetPos?: number[];
  wkst: number;
}

type ListResult = number[] | undefined | null; // null = invalid

function intList(v: unknown, min: number, max: number, allowNegative: boolean): ListResult {
  if (v === undefined) return undefined;
  const arr = Array.isArray(v) ? v : [v];
  const out: number[] = [];
  for (const x of arr) {
    const n = typeof x === 'number' ? x : typeof x === 'string' && /^[+-]?\d+$/.test(x) ? Number(x) : NaN;
    if (!Number.isInteger(n)) return null;
    const abs = Math.abs(n);
    if (n < 0 && !allowNegative) return null;
    if (abs < min || abs > max) return null;
    out.push(n);
  }
  return out.length ? [...new Set(out)].sort((a, b) => a - b) : undefined;
}

function byDayList(v: unknown): ByDay[] | undefined | null {
  if (v === undefined) return undefined;
  const arr = Array.isArray(v) ? v : [v];
  const out: ByDay[] = [];
  for (const x of arr) {
    const m = typeof x === 'string' ? /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/i.exec(x.trim()) : null;
    if (!m) return null;
    const n = m[1] === undefined ? 0 : Number(m[1]);
    if (Math.abs(n) > 53) return null;
    out.push({ wd: WEEKDAYS[m[2]!.toUpperCase()]!, n });
  }
  return out.length ? out : undefined;
}

function wkstOf(v: unknown): number | null {
  if (v === undefined) return 0;
  // ical.js gives 1 = SU ... 7 = SA; raw text gives "MO".
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 7) return (v + 5) % 7;
  if (typeof v === 'string' && WEEKDAYS[v.toUpperCase()] !== undefined) return WEEKDAYS[v.toUpperCase()]!;
  return null;
}

const LIST_PARTS = new Set(['bysecond', 'byminute', 'byhour', 'byday', 'bymonthday', 'byyearday', 'byweekno', 'bymonth', 'bysetpos']);

/** "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T000000Z" to the shape of ical.js's jCal recur object. */
function fromText(text: string): Record<string, unknown> | undefined {
  const o: Record<string, unknown> = {};
  for (const part of text.split(';')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const k = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim();
    if (k === 'until') {
      const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/i.exec(v);
      o.until = !m ? v : m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}` : `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ? 'Z' : ''}`;
    } else o[k] = LIST_PARTS.has(k) ? v.split(',') : v;
  }
  return o;
}

// The same RRULE text recurs across people and resources; parsed rules are
// immutable, so they are shared. Bounded.
const ruleMemo = new Map<string, Rule | string>();

/**
 * Reads one RRULE, as RFC 5545 text or as ical.js's jCal recur object; a
 * string result is the reason it is invalid.
 */
export function parseRule(raw: unknown): Rule | string {
  if (typeof raw === 'string') {
    let r = ruleMemo.get(raw);
    if (r === undefined) {
      const o = fromText(raw);
      r = o ? parseRule(o) : 'invalid RRULE';
      if (ruleMemo.size >= 2000) ruleMemo.clear();
      ruleMemo.set(raw, r);
    }
    return r;
  }
  if (typeof raw !== 'object' || raw === null) return 'invalid RRULE';
  const o = raw as Record<string, unknown>;
  const freq = typeof o.freq === 'string' ? FREQS[o.freq.toUpperCase()] : undefined;
  if (freq === undefined) return 'invalid RRULE FREQ';
  const interval = o.interval === undefined ? 1 : Number(o.interval);
  if (!Number.isInteger(interval) || interval < 1) return 'invalid RRULE INTERVAL';
  let count: number | undefined;
  if (o.count !== undefined) {
    count = Number(o.count);
    if (!Number.isInteger(count) || count < 1) return 'invalid RRULE COUNT';
  }
  let until: TimeValue | undefined;
  if (o.until !== undefined) {
    until = parseTimeValue(o.until);
    if (!until) return 'invalid RRULE UNTIL';
  }
  const wkst = wkstOf(o.wkst);
  if (wkst === null) return 'invalid RRULE WKST';
  const byDay = byDayList(o.byday);
  if (byDay === null) return 'invalid RRULE BYDAY';
  const lists = {
    bySecond: intList(o.bysecond, 0, 60, false),
    byMinute: intList(o.byminute, 0, 59, false),
    byHour: intList(o.byhour, 0, 23, false),
    byMonthDay: intList(o.bymonthday, 1, 31, true),
    byYearDay: intList(o.byyearday, 1, 366, true),
    byWeekNo: intList(o.byweekno, 1, 53, true),
    byMonth: intList(o.bymonth, 1, 12, false),
    bySetPos: intList(o.bysetpos, 1, 366, true),
  };
  for (const [k, v] of Object.entries(lists)) if (v === null) return `invalid RRULE ${k.toUpperCase()}`;
  const rule: Rule = { freq, interval, wkst };
  if (count !== undefined) rule.count = count;
  if (until) rule.until = until;
  if (byDay) rule.byDay = byDay;
  for (const [k, v] of Object.entries(lists)) if (v) (rule as unknown as Record<string, number[]>)[k] = v;
  return rule;
}
