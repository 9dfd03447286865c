/**
 * RRULE expansion (RFC 5545 3.3.10) on wall-clock "local seconds".
 *
 * Why not ical.js's RecurIterator: its next() runs an unbounded inner loop
 * while the BYxxx "limit" parts reject candidates (FREQ=DAILY;BYMONTH=2;
 * BYMONTHDAY=30 never returns), so no outer step counter can stop it; and it
 * always walks from DTSTART, so a daily event from 2012 costs thousands of
 * steps before a 2026 window. This expander works period by period (a year,
 * month, week, day, hour, minute or second, times INTERVAL), builds the
 * period's candidates with the RFC's expand/limit table as filters over the
 * period's days, applies BYSETPOS, and counts every period, day and candidate
 * it looks at as one unit of work against a cap. Without COUNT it jumps
 * straight to the period that contains the window start (no earlier instance
 * can matter); with COUNT it must count from DTSTART, bounded by the cap.
 * ical.js stays the parser and is the oracle in recur.test.ts.
 */
import { DAY, civilFromDays, daysFromCivil, daysInMonth, isLeap, weekday } from './civil.js';
import { type ByDay, Freq, type Rule } from './recur-rule.js';

export interface ExpandLimits {
  /** Candidates before this (local seconds) are counted for COUNT but not emitted. */
  from: number;
  /** Expansion stops at the first candidate at or after this. */
  to: number;
  /** UNTIL already converted to local seconds (Infinity when absent); inclusive. */
  untilLocal: number;
  /** Cap on periods + days + candidates examined. */
  maxWork: number;
  /** Polled every few thousand units of work. */
  deadlinePassed: () => boolean;
}

/** Why expansion ended: the rule (or window) was exhausted, or a cap stopped it. */
export type ExpandStop = 'done' | 'work' | 'deadline' | 'emit';

/** The emitter returns false to stop (instance cap). */
export type Emit = (local: number) => boolean;

interface Prepared {
  freq: Freq;
  interval: number;
  count: number;
  wkst: number;
  monthMask: Uint8Array | null;
  mdPos: Uint8Array | null;
  mdNeg: Uint8Array | null;
  ydPos: Uint8Array | null;
  ydNeg: Uint8Array | null;
  wnPos: Uint8Array | null;
  wnNeg: Uint8Array | null;
  wdPlain: Uint8Array | null;
  /** Weekdays (0 = Monday) any BYDAY entry can match; null when BYDAY is absent. */
  wdAny: Uint8Array | null;
  ords: ByDay[];
  /** Scope of ordinal BYDAY: 0 none (read as plain weekday), 1 month, 2 year. */
  ordScope: 0 | 1 | 2;
  hours: number[];
  minutes: number[];
  seconds: number[];
  hourMask: Uint8Array | null;
  minuteMask: Uint8Array | null;
  secondMask: Uint8Array | null;
  bySetPos: number[] | undefined;
}

function mask(values: number[] | undefined, size: number, negative: boolean): Uint8Array | null {
  if (!values) return null;
  const m = new Uint8Array(size);
  for (const v of values) if (negative ? v < 0 : v > 0 || (!negative && v === 0)) m[Math.abs(v)] = 1;
  return m;
}

function prepare(rule: Rule, dtstart: number, isDate: boolean): Prepared {
  const d0 = Math.floor(dtstart / DAY);
  const c = new Int32Array(3);
  civilFromDays(d0, c);
  const wd0 = weekday(d0);
  const sod = dtstart - d0 * DAY;
  const f = rule.freq;
  let { byMonth, byMonthDay, byDay } = rule;
  // Implicit parts taken from DTSTART (RFC 5545 3.3.10, "information not
  // contained in the rule ... is derived from DTSTART").
  if (f === Freq.WEEKLY && !byDay) byDay = [{ wd: wd0, n: 0 }];
  if (f === Freq.MONTHLY && !byDay && !byMonthDay && !rule.byYearDay) byMonthDay = [c[2]!];
  if (f === Freq.YEARLY && !byDay && !byMonthDay && !rule.byYearDay) {
    if (rule.byWeekNo) byDay = [{ wd: wd0, n: 0 }];
    else {
      byMonth ??= [c[1]!];
      byMonthDay = [c[2]!];
    }
  }
  const plain = byDay?.filter((b) => b.n === 0);
  const ords = byDay?.filter((b) => b.n !== 0) ?? [];
  let ordScope: 0 | 1 | 2 = 0;
  if (f === Freq.MONTHLY) ordScope = 1;
  else if (f === Freq.YEARLY && !rule.byWeekNo) ordScope = byMonth ? 1 : 2;
  const pick = (list: number[] | undefined, own: number, expands: boolean): number[] =>
    isDate ? [0] : expands ? (list ?? [own]).filter((v) => v < 60) : [];
  return {
    freq: f,
    interval: rule.interval,
    count: rule.count ?? Infinity,
    wkst: rule.wkst,
    monthMask: mask(byMonth, 13, false),
    mdPos: mask(byMonthDay, 32, false),
    mdNeg: byMonthDay ? mask(byMonthDay, 32, true) : null,
    ydPos: mask(rule.byYearDay, 367, false),
    ydNeg: rule.byYearDay ? mask(rule.byYearDay, 367, true) : null,
    wnPos: mask(rule.byWeekNo, 54, false),
    wnNeg: rule.byWeekNo ? mask(rule.byWeekNo, 54, true) : null,
    wdPlain: byDay ? mask(plain?.map((b) => b.wd + 1), 8, false) : null,
    wdAny: byDay ? mask(byDay.map((b) => b.wd), 7, false) : null,
    ords,
    ordScope,
    hours: pick(rule.byHour, Math.floor(sod / 3600), f >= Freq.DAILY),
    minutes: pick(rule.byMinute, Math.floor(sod / 60) % 60, f >= Freq.HOURLY),
    seconds: pick(rule.bySecond, sod % 60, f >= Freq.MINUTELY),
    hourMask: isDate || f >= Freq.DAILY ? null : mask(rule.byHour, 24, false),
    minuteMask: isDate || f >= Freq.HOURLY ? null : mask(rule.byMinute, 60, false),
    secondMask: isDate || f >= Freq.MINUTELY ? null : mask(rule.bySecond, 61, false),
    bySetPos: rule.bySetPos,
  };
}

/** RFC 5545 week number of day z (weeks start on wkst; week 1 has >= 4 days of its year). */
function weekOf(z: number, y: number, wkst: number): { wn: number; weeks: number } {
  const start = (yy: number): number => {
    const jan1 = daysFromCivil(yy, 1, 1);
    const off = (weekday(jan1) - wkst + 7) % 7;
    return off <= 3 ? jan1 - off : jan1 - off + 7;
  };
  let s = start(y);
  let next = start(y + 1);
  if (z < s) {
    next = s;
    s = start(y - 1);
  } else if (z >= next) {
    s = next;
    next = start(y + 2);
  }
  return { wn: Math.floor((z - s) / 7) + 1, weeks: (next - s) / 7 };
}

const civ = new Int32Array(3);

function dayOk(p: Prepared, z: number): boolean {
  civilFromDays(z, civ);
  const y = civ[0]!;
  const m = civ[1]!;
  const dom = civ[2]!;
  if (p.monthMask && !p.monthMask[m]) return false;
  const dim = daysInMonth(y, m);
  if (p.mdPos && !p.mdPos[dom] && !p.mdNeg![dim - dom + 1]) return false;
  let yday = 0;
  let diy = 0;
  if (p.ydPos || p.ordScope === 2) {
    yday = z - daysFromCivil(y, 1, 1) + 1;
    diy = isLeap(y) ? 366 : 365;
    if (p.ydPos && !p.ydPos[yday] && !p.ydNeg![diy - yday + 1]) return false;
  }
  if (p.wnPos) {
    const w = weekOf(z, y, p.wkst);
    if (!p.wnPos[w.wn] && !p.wnNeg![w.weeks - w.wn + 1]) return false;
  }
  if (!p.wdPlain) return true;
  const wd = weekday(z);
  if (p.wdPlain[wd + 1]) return true;
  for (const o of p.ords) {
    if (o.wd !== wd) continue;
    if (p.ordScope === 0) return true;
    const [pos, len] = p.ordScope === 1 ? [dom, dim] : [yday, diy];
    if (o.n === Math.floor((pos - 1) / 7) + 1 || o.n === -(Math.floor((len - pos) / 7) + 1)) return true;
  }
  return false;
}

/** Days of [first, first + n) that pass the filters; weekdays no BYDAY names are skipped cheaply. */
function collectDays(p: Prepared, first: number, n: number, out: number[]): void {
  let wd = weekday(first);
  for (let z = first; z < first + n; z++, wd = wd === 6 ? 0 : wd + 1) {
    if ((!p.wdAny || p.wdAny[wd]) && dayOk(p, z)) out.push(z);
  }
}

function applySetPos(cands: number[], setPos: number[]): number[] {
  const n = cands.length;
  const out: number[] = [];
  for (const sp of setPos) {
    const i = sp > 0 ? sp - 1 : n + sp;
    const v = cands[i];
    if (i >= 0 && v !== undefined && !out.includes(v)) out.push(v);
  }
  return out.sort((a, b) => a - b);
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** Mutable expansion state shared by the period loops. */
class Run {
  work = 0;
  occ = 1; // DTSTART is occurrence 1 (RFC 5545 3.8.5.3); the caller emits it.
  stop: ExpandStop | undefined;
  readonly cands: number[] = [];
  readonly days: number[] = [];

  constructor(
    readonly p: Prepared,
    readonly dtstart: number,
    readonly lim: ExpandLimits,
    readonly emit: Emit,
  ) {}

  /** Counts work; false when a cap or the deadline says stop. */
  tick(units: number): boolean {
    const before = this.work;
    this.work += units;
    if (this.work > this.lim.maxWork) {
      this.stop = 'work';
      return false;
    }
    if (this.work >> 12 !== before >> 12 && this.lim.deadlinePassed()) {
      this.stop = 'deadline';
      return false;
    }
    return true;
  }

  /** Emits this period's candidates (ascending); false when expansion is over. */
  flush(): boolean {
    let list = this.cands;
    if (this.p.bySetPos && list.length) list = applySetPos(list, this.p.bySetPos);
    for (const c of list) {
      if (c <= this.dtstart) continue;
      if (c > this.lim.untilLocal || ++this.occ > this.p.count || c >= this.lim.to) {
        this.stop = 'done';
        return false;
      }
      if (c >= this.lim.from && !this.emit(c)) {
        this.stop = 'emit';
        return false;
      }
    }
    this.cands.length = 0;
    return true;
  }

  /** Day-level periods: the days of the period that pass the filters, times each time of day. */
  dayPeriod(first: number, n: number): boolean {
    if (first * DAY > this.lim.to || first * DAY > this.lim.untilLocal) {
      this.stop = 'done';
      return false;
    }
    const p = this.p;
    if (!this.tick(1 + n)) return false;
    this.days.length = 0;
    collectDays(p, first, n, this.days);
    for (const z of this.days) {
      for (const h of p.hours) for (const mi of p.minutes) for (const s of p.seconds) this.cands.push(z * DAY + h * 3600 + mi * 60 + s);
    }
    if (!this.tick(this.cands.length)) return false;
    return this.flush();
  }
}

function expandDayLevel(run: Run): void {
  const { p, dtstart, lim } = run;
  const d0 = Math.floor(dtstart / DAY);
  const c = new Int32Array(3);
  civilFromDays(d0, c);
  const y0 = c[0]!;
  const m0 = c[1]!;
  // Without COUNT no instance before the window matters: start in the period holding lim.from.
  const ff = p.count === Infinity && lim.from > dtstart;
  const fromDay = Math.floor(lim.from / DAY);
  civilFromDays(fromDay, c);
  const skip = (periods: number): number => (ff ? Math.max(0, Math.floor(periods / p.interval)) : 0);
  if (p.freq === Freq.DAILY) {
    for (let k = skip(fromDay - d0); ; k++) if (!run.dayPeriod(d0 + k * p.interval, 1)) return;
  }
  if (p.freq === Freq.WEEKLY) {
    const ws0 = d0 - mod(weekday(d0) - p.wkst, 7);
    const wsFrom = fromDay - mod(weekday(fromDay) - p.wkst, 7);
    for (let k = skip((wsFrom - ws0) / 7); ; k++) if (!run.dayPeriod(ws0 + k * 7 * p.interval, 7)) return;
  }
  if (p.freq === Freq.MONTHLY) {
    const mi0 = y0 * 12 + m0 - 1;
    for (let k = skip(c[0]! * 12 + c[1]! - 1 - mi0); ; k++) {
      const mi = mi0 + k * p.interval;
      const y = Math.floor(mi / 12);
      const m = (mi % 12) + 1;
      if (y > 9999) return;
      // BYMONTH limits MONTHLY: a month it excludes is one unit of work, not 31.
      if (p.monthMask && !p.monthMask[m]) {
        if (!run.tick(1)) return;
        continue;
      }
      if (!run.dayPeriod(daysFromCivil(y, m, 1), daysInMonth(y, m))) return;
    }
  }
  for (let k = skip(c[0]! - y0); ; k++) {
    const y = y0 + k * p.interval;
    if (y > 9999) return;
    if (!p.monthMask) {
      if (!run.dayPeriod(daysFromCivil(y, 1, 1), isLeap(y) ? 366 : 365)) return;
      continue;
    }
    // BYMONTH expands YEARLY: visit only those months, in order, as one period.
    let beyond = false;
    for (let m = 1; m <= 12; m++) {
      if (!p.monthMask[m]) continue;
      const first = daysFromCivil(y, m, 1);
      if (first * DAY > lim.to) {
        beyond = true; // later months cannot matter, but this year's earlier ones still do
        break;
      }
      run.days.length = 0;
      if (!run.tick(daysInMonth(y, m))) return;
      collectDays(p, first, daysInMonth(y, m), run.days);
      for (const z of run.days) {
        for (const h of p.hours) for (const mi of p.minutes) for (const s of p.seconds) run.cands.push(z * DAY + h * 3600 + mi * 60 + s);
      }
    }
    if (!run.tick(run.cands.length + 1) || !run.flush() || beyond) return;
  }
}

function expandSubDaily(run: Run): void {
  const { p, dtstart, lim } = run;
  const grain = p.freq === Freq.HOURLY ? 3600 : p.freq === Freq.MINUTELY ? 60 : 1;
  const base = dtstart - mod(dtstart, grain);
  const unit = grain * p.interval;
  const firstAtOrAfter = (t: number): number => Math.max(0, Math.ceil((t - base) / unit));
  let k = p.count === Infinity && lim.from > dtstart ? Math.max(0, Math.floor((lim.from - base) / unit)) : 0;
  for (;;) {
    const ps = base + k * unit;
    if (ps > lim.to || ps > lim.untilLocal) {
      run.stop = 'done';
      return;
    }
    if (!run.tick(1)) return;
    const z = Math.floor(ps / DAY);
    const sod = ps - z * DAY;
    const h = Math.floor(sod / 3600);
    const mi = Math.floor(sod / 60) % 60;
    // Jump over whole days, hours or minutes that a limit part rejects.
    if (!dayOk(p, z)) k = firstAtOrAfter((z + 1) * DAY);
    else if (p.hourMask && !p.hourMask[h]) k = firstAtOrAfter(ps - (sod % 3600) + 3600);
    else if (p.minuteMask && !p.minuteMask[mi]) k = firstAtOrAfter(ps - (sod % 60) + 60);
    else {
      if (!p.secondMask || p.secondMask[sod % 60]) {
        if (p.freq === Freq.SECONDLY) run.cands.push(ps);
        else if (p.freq === Freq.MINUTELY) for (const s of p.seconds) run.cands.push(ps + s);
        else for (const m2 of p.minutes) for (const s of p.seconds) run.cands.push(ps + m2 * 60 + s);
        if (!run.tick(run.cands.length) || !run.flush()) return;
      }
      k++;
    }
  }
}

/**
 * Emits the instances of one RRULE after DTSTART (which the caller emits
 * itself, as occurrence 1) that start in [lim.from, lim.to), ascending.
 */
export function expandRule(rule: Rule, dtstart: number, isDate: boolean, lim: ExpandLimits, emit: Emit): ExpandStop {
  const run = new Run(prepare(rule, dtstart, isDate), dtstart, lim, emit);
  if (rule.freq >= Freq.DAILY) expandDayLevel(run);
  else expandSubDaily(run);
  return run.stop ?? 'done';
}
