/**
 * One VEVENT (jCal) to the numbers the expander needs: start in its zone,
 * duration, rules, extra and excluded dates, busy type. Titles, locations and
 * descriptions are never read.
 */
import { DAY, type TimeValue, parseDuration, parseTimeValue } from './civil.js';
import { prop, text } from './jcal.js';
import { Freq, type Rule, parseRule } from './recur-rule.js';
import type { BusyType } from './types.js';
import { type JComp, type JProp, UTC_ZONE, type Zone, type ZoneResolver } from './zones.js';

export interface RdateInstance {
  start: number; // UTC seconds
  end: number;
}

export interface EventSpec {
  uid?: string;
  /** null: the event does not make its owner busy. */
  type: BusyType | null;
  /** DTSTART in local seconds of `zone`. */
  start: number;
  isDate: boolean;
  zone: Zone;
  /** Nominal days (added on the wall clock) then exact seconds. */
  durDays: number;
  durSecs: number;
  /** True when neither DTEND nor DURATION was given. */
  durDefault: boolean;
  rules: { rule: Rule; untilLocal: number }[];
  rdates: RdateInstance[];
  exUtc: Set<number>;
  exDays: Set<number>;
  /** RECURRENCE-ID as a UTC instant, for overrides. */
  recurrenceId?: number;
  warnings: string[];
}

/**
 * Busy type of an event. Free first: STATUS:CANCELLED, then TRANSP:TRANSPARENT
 * (a client that flips "show as free" sets TRANSP and may leave a stale
 * Outlook property behind). Then Outlook's X-MICROSOFT-CDO-BUSYSTATUS when
 * present, else STATUS:TENTATIVE, else BUSY. WORKINGELSEWHERE counts as free,
 * as in Outlook's own scheduling view.
 */
const CDO: Readonly<Record<string, BusyType | null>> = {
  FREE: null,
  WORKINGELSEWHERE: null,
  TENTATIVE: 'BUSY-TENTATIVE',
  BUSY: 'BUSY',
  OOF: 'BUSY-UNAVAILABLE',
};

export function busyTypeOf(c: JComp): BusyType | null {
  const status = text(c, 'status')?.trim().toUpperCase();
  if (status === 'CANCELLED') return null;
  if (text(c, 'transp')?.trim().toUpperCase() === 'TRANSPARENT') return null;
  const cdo = text(c, 'x-microsoft-cdo-busystatus')?.trim().toUpperCase();
  if (cdo !== undefined && cdo in CDO) return CDO[cdo]!;
  return status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY';
}

interface Ctx {
  zones: ZoneResolver;
  warnings: string[];
}

function zoneOf(p: JProp, t: TimeValue, ctx: Ctx): Zone {
  if (t.utc) return UTC_ZONE;
  const tzid = p[1].tzid;
  if (t.date || typeof tzid !== 'string') return ctx.zones.floating;
  const z = ctx.zones.resolve(tzid);
  if (z) return z;
  const w = 'unknown TZID; read as floating time';
  if (!ctx.warnings.includes(w)) ctx.warnings.push(w);
  return ctx.zones.floating;
}

function utcOf(t: TimeValue, zone: Zone): number {
  return t.utc ? t.local : zone.toUtc(t.local);
}

interface Dur {
  days: number;
  secs: number;
  dflt: boolean;
}

function durationOf(c: JComp, start: TimeValue, startZone: Zone, ctx: Ctx): Dur | string {
  const endProp = prop(c, 'dtend');
  if (endProp) {
    const end = parseTimeValue(endProp[3]);
    if (!end) return 'invalid DTEND';
    const d: Dur = start.date && end.date
      ? { days: (end.local - start.local) / DAY, secs: 0, dflt: false }
      : { days: 0, secs: utcOf(end, zoneOf(endProp, end, ctx)) - utcOf(start, startZone), dflt: false };
    return d.days < 0 || d.secs < 0 ? 'DTEND before DTSTART' : d;
  }
  const durProp = prop(c, 'duration');
  if (durProp) {
    const d = parseDuration(durProp[3]);
    if (!d) return 'invalid DURATION';
    if (d.days < 0 || d.seconds < 0) return 'negative DURATION';
    return { days: d.days, secs: d.seconds, dflt: false };
  }
  // RFC 5545 3.6.1: a DATE start without end lasts one day; a DATE-TIME start
  // without end takes no time (and so adds no busy time).
  return start.date ? { days: 1, secs: 0, dflt: true } : { days: 0, secs: 0, dflt: true };
}

function untilLocal(rule: Rule, zone: Zone): number {
  const u = rule.until;
  if (!u) return Infinity;
  if (u.date) return u.local + DAY - 1; // a DATE UNTIL includes that whole day
  return u.utc ? zone.toLocal(u.local) : u.local;
}

function readRules(c: JComp, start: TimeValue, zone: Zone): EventSpec['rules'] | string {
  const out: EventSpec['rules'] = [];
  for (const p of c[1]) {
    if (p[0] !== 'rrule' && p[0] !== 'x-mailbridge-rrule') continue;
    const rule = parseRule(p[3]);
    if (typeof rule === 'string') return rule;
    if (start.date && rule.freq < Freq.DAILY) return 'sub-daily RRULE on an all-day event';
    out.push({ rule, untilLocal: untilLocal(rule, zone) });
  }
  return out;
}

function readDates(c: JComp, ev: EventSpec, ctx: Ctx): string | undefined {
  for (const p of c[1]) {
    if (p[0] !== 'rdate' && p[0] !== 'exdate') continue;
    for (const v of p.slice(3)) {
      const isPeriod = Array.isArray(v);
      const t = parseTimeValue(isPeriod ? v[0] : v);
      if (!t) return `invalid ${p[0].toUpperCase()}`;
      const zone = zoneOf(p, t, ctx);
      if (p[0] === 'exdate') {
        // A DATE EXDATE on a timed series removes that day's instance (lenient; RFC wants matching types).
        if (t.date && !ev.isDate) ev.exDays.add(t.local / DAY);
        else ev.exUtc.add(utcOf(t, zone));
        continue;
      }
      const start = utcOf(t, zone);
      let end: number;
      if (isPeriod) {
        const e = parseTimeValue(v[1]);
        const d = e ? undefined : parseDuration(v[1]);
        if (e) end = utcOf(e, zoneOf(p, e, ctx));
        else if (d) end = zone.toUtc(t.local + d.days * DAY) + d.seconds;
        else return 'invalid RDATE period';
      } else {
        end = ev.durDays ? zone.toUtc(t.local + ev.durDays * DAY) + ev.durSecs : start + ev.durSecs;
      }
      ev.rdates.push({ start, end });
    }
  }
  return undefined;
}

/** Reads a VEVENT; a string is the reason it is skipped. `master` supplies defaults for an override. */
export function readEvent(c: JComp, zones: ZoneResolver, master?: EventSpec): EventSpec | string {
  const ctx: Ctx = { zones, warnings: [] };
  const ridProp = prop(c, 'recurrence-id');
  let recurrenceId: number | undefined;
  let rid: TimeValue | undefined;
  if (ridProp) {
    rid = parseTimeValue(ridProp[3]);
    if (!rid) return 'invalid RECURRENCE-ID';
    recurrenceId = utcOf(rid, zoneOf(ridProp, rid, ctx));
  }
  const startProp = prop(c, 'dtstart') ?? ridProp;
  if (!startProp) return 'missing DTSTART';
  const start = parseTimeValue(startProp[3]);
  if (!start) return 'invalid DTSTART';
  const zone = zoneOf(startProp, start, ctx);
  const dur = durationOf(c, start, zone, ctx);
  if (typeof dur === 'string') return dur;
  const ev: EventSpec = {
    type: busyTypeOf(c),
    start: start.local,
    isDate: start.date,
    zone,
    durDays: dur.days,
    durSecs: dur.secs,
    durDefault: dur.dflt,
    rules: [],
    rdates: [],
    exUtc: new Set(),
    exDays: new Set(),
    warnings: ctx.warnings,
  };
  const uid = text(c, 'uid');
  if (uid !== undefined) ev.uid = uid;
  if (recurrenceId !== undefined) {
    ev.recurrenceId = recurrenceId;
    // An override without its own end keeps the series' length (clients that
    // only move an instance often write just DTSTART).
    if (dur.dflt && master && master.isDate === start.date) {
      ev.durDays = master.durDays;
      ev.durSecs = master.durSecs;
    }
    return ev; // an override is one instance: its own RRULE/RDATE are ignored
  }
  const rules = readRules(c, start, zone);
  if (typeof rules === 'string') return rules;
  ev.rules = rules;
  return readDates(c, ev, ctx) ?? ev;
}
