/**
 * Busy time from calendar-query data (Radicale 3.1 ignores the CalDAV
 * free-busy-query REPORT, DESIGN.md "Interop facts"). Each text is parsed
 * once; events are grouped by UID so that overrides (RECURRENCE-ID) replace
 * their instance of the series; series are expanded only over the window.
 */
import { MbError } from '../../core/errors.js';
import { DAY } from './civil.js';
import { IcalErrors } from './errors.js';
import { type EventSpec, readEvent } from './events.js';
import { type Calendar, readCalendar } from './jcal.js';
import { type RawPeriods, mergeRaw, toPeriods } from './merge.js';
import { type ExpandStop, expandRule } from './recur.js';
import { BUSY_RANK, type BusyNote, type BusyOptions, type BusyResult } from './types.js';
import { type Zone, ZoneResolver, resolveZoneName } from './zones.js';

export const DEFAULT_MAX_INSTANCES = 3500;
/** Work units (periods + days + candidates) per rule and maxInstance: COUNT rules from long ago stay cheap. */
const WORK_PER_INSTANCE = 100;
const MIN_WORK = 100_000;
const LOCAL_SLACK = 3 * 3600;

/** Everything one computation shares: window in ms, caps, clock, output. */
export interface Run {
  fromMs: number;
  toMs: number;
  maxInstances: number;
  maxWork: number;
  deadlinePassed: () => boolean;
  floating: Zone;
  raw: RawPeriods;
  result: BusyResult;
}

export function makeRun(opts: Pick<BusyOptions, 'start' | 'end' | 'floatingZone'> & Partial<BusyOptions>): Run {
  const fromMs = opts.start instanceof Date ? opts.start.getTime() : NaN;
  const toMs = opts.end instanceof Date ? opts.end.getTime() : NaN;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs >= toMs) {
    throw new MbError(IcalErrors.ICAL_WINDOW_INVALID, 'free/busy window must be two valid dates with start < end');
  }
  const floating = resolveZoneName(opts.floatingZone ?? 'UTC');
  if (!floating) throw new MbError(IcalErrors.ICAL_ZONE_UNKNOWN, 'floatingZone is not a known time zone', { details: { zone: opts.floatingZone } });
  const maxInstances = Math.max(1, Math.floor(opts.maxInstances ?? DEFAULT_MAX_INSTANCES));
  const now = opts.now ?? Date.now;
  const deadline = opts.deadline;
  return {
    fromMs,
    toMs,
    maxInstances,
    maxWork: Math.max(MIN_WORK, maxInstances * WORK_PER_INSTANCE),
    deadlinePassed: deadline === undefined ? () => false : () => now() > deadline,
    floating,
    raw: { start: [], end: [], rank: [] },
    result: { periods: [], skipped: [], truncated: [], warnings: [] },
  };
}

function note(uid: string | undefined, reason: string): BusyNote {
  return uid === undefined ? { reason } : { uid, reason };
}

/** Adds [start, end) (UTC seconds) clipped to the window; false if outside. */
function add(run: Run, start: number, end: number, rank: number): boolean {
  const s = Math.max(start * 1000, run.fromMs);
  const e = Math.min(end * 1000, run.toMs);
  if (e <= s) return false;
  run.raw.start.push(s);
  run.raw.end.push(e);
  run.raw.rank.push(rank);
  return true;
}

const STOP_REASON: Partial<Record<ExpandStop, string>> = {
  work: 'recurrence iteration limit reached',
  deadline: 'deadline exceeded',
};

/** Expands one series (master) minus its overridden instances. */
function expandSeries(run: Run, ev: EventSpec, overridden: Set<number>): void {
  if (ev.type === null) return;
  const rank = BUSY_RANK[ev.type];
  const { zone, durDays, durSecs } = ev;
  const fromSec = Math.floor(run.fromMs / 1000);
  const toSec = Math.ceil(run.toMs / 1000);
  let count = 0;
  let capped = false;
  const emitUtc = (s: number, e: number): boolean => {
    if (e <= s || e <= fromSec || s >= toSec || ev.exUtc.has(s) || overridden.has(s)) return true;
    if (count >= run.maxInstances) {
      capped = true;
      return false;
    }
    if (add(run, s, e, rank)) count++;
    return true;
  };
  const emitLocal = (local: number): boolean => {
    if (ev.exDays.size && ev.exDays.has(Math.floor(local / DAY))) return true;
    const s = zone.toUtc(local);
    return emitUtc(s, durDays ? zone.toUtc(local + durDays * DAY) + durSecs : s + durSecs);
  };
  let stop: ExpandStop = 'done';
  if (!emitLocal(ev.start)) stop = 'emit';
  // The window in the series' wall time, widened by the event's length and a
  // few hours (a DST shift near the edges); exact checks happen in emitUtc.
  const lim = {
    from: zone.toLocal(fromSec) - durDays * DAY - durSecs - LOCAL_SLACK,
    to: zone.toLocal(toSec) + LOCAL_SLACK,
    untilLocal: Infinity,
    maxWork: run.maxWork,
    deadlinePassed: run.deadlinePassed,
  };
  for (const r of ev.rules) {
    if (stop !== 'done') break;
    lim.untilLocal = r.untilLocal;
    stop = expandRule(r.rule, ev.start, ev.isDate, lim, emitLocal);
  }
  for (const rd of ev.rdates) if (stop === 'done' && !emitUtc(rd.start, rd.end)) stop = 'emit';
  if (capped) run.result.truncated.push(note(ev.uid, `more than ${run.maxInstances} instances in the window`));
  else if (STOP_REASON[stop]) run.result.truncated.push(note(ev.uid, STOP_REASON[stop]!));
}

function expandOverride(run: Run, ev: EventSpec): void {
  if (ev.type === null) return;
  const s = ev.zone.toUtc(ev.start);
  const e = ev.durDays ? ev.zone.toUtc(ev.start + ev.durDays * DAY) + ev.durSecs : s + ev.durSecs;
  add(run, s, e, BUSY_RANK[ev.type]);
}

/** Reads and expands one calendar text; false when the deadline stopped it. */
function processCalendar(run: Run, cal: Calendar): boolean {
  const zones = new ZoneResolver(cal.vtimezones, run.floating);
  const masters = new Map<string, EventSpec[]>();
  const overrides: { c: (typeof cal.vevents)[number]; uid: string | undefined }[] = [];
  const series: EventSpec[] = [];
  const { skipped, warnings } = run.result;
  for (const c of cal.vevents) {
    const uidProp = c[1].find((p) => p[0] === 'uid')?.[3];
    const uid = typeof uidProp === 'string' ? uidProp : undefined;
    if (c[1].some((p) => p[0] === 'recurrence-id')) {
      overrides.push({ c, uid });
      continue;
    }
    const ev = readEvent(c, zones);
    if (typeof ev === 'string') {
      skipped.push(note(uid, ev));
      continue;
    }
    for (const w of ev.warnings) warnings.push(note(uid, w));
    series.push(ev);
    if (uid !== undefined) masters.set(uid, [...(masters.get(uid) ?? []), ev]);
  }
  const overridden = new Map<string, Set<number>>();
  const single: EventSpec[] = [];
  for (const { c, uid } of overrides) {
    const ev = readEvent(c, zones, uid === undefined ? undefined : masters.get(uid)?.[0]);
    if (typeof ev === 'string') {
      skipped.push(note(uid, ev));
      continue;
    }
    for (const w of ev.warnings) warnings.push(note(uid, w));
    const key = uid ?? '';
    if (!overridden.has(key)) overridden.set(key, new Set());
    overridden.get(key)!.add(ev.recurrenceId!);
    single.push(ev);
  }
  const none = new Set<number>();
  for (let i = 0; i < series.length; i++) {
    if (run.deadlinePassed()) {
      run.result.truncated.push({ reason: `deadline exceeded; ${series.length - i} events not expanded` });
      return false;
    }
    const ev = series[i]!;
    expandSeries(run, ev, overridden.get(ev.uid ?? '') ?? none);
  }
  for (const ev of single) expandOverride(run, ev);
  return true;
}

/**
 * Busy periods of one person from the iCalendar texts of their calendar
 * (one text per CalDAV resource, or whole .ics files). Never throws on bad
 * data: what cannot be read is listed in `skipped`, what was cut short in
 * `truncated`. Throws MbError only for a bad window or floatingZone.
 */
export function busyFromCalendars(icsTexts: string[], opts: BusyOptions): BusyResult {
  const run = makeRun(opts);
  for (let i = 0; i < icsTexts.length; i++) {
    if (run.deadlinePassed()) {
      run.result.truncated.push({ reason: `deadline exceeded; ${icsTexts.length - i} calendars not read` });
      break;
    }
    const cal = readCalendar(icsTexts[i] ?? '', run.result.skipped);
    if (!processCalendar(run, cal)) {
      if (i + 1 < icsTexts.length) run.result.truncated.push({ reason: `deadline exceeded; ${icsTexts.length - i - 1} calendars not read` });
      break;
    }
  }
  run.result.periods = toPeriods(mergeRaw(run.raw));
  return run.result;
}
