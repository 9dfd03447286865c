/**
 * Wall time <-> UTC for the zones an event may name: UTC, an IANA zone (Intl,
 * Node has full ICU), a Windows zone name mapped to IANA, or a VTIMEZONE
 * embedded in the calendar. Every zone is reduced to "offset at a UTC
 * instant"; wall time to UTC is then done once, here, with RFC 5545 3.3.5's
 * rules for the DST gap and the repeated hour.
 */
import { DAY, civilFromDays, daysFromCivil, parseTimeValue, parseUtcOffset } from './civil.js';
import { Freq, type Rule, parseRule } from './recur-rule.js';
import { expandRule } from './recur.js';
import { windowsZoneToIana } from './windows-zones.js';

export class Zone {
  constructor(
    readonly name: string,
    /** Seconds east of UTC in force at a UTC instant (seconds). */
    readonly offsetAt: (utc: number) => number,
  ) {}

  /**
   * Wall time to UTC. Probing a day either side finds the offsets before and
   * after any transition near `local`. A time valid with the earlier offset
   * wins (the first of a repeated hour); a time valid with neither (in the
   * spring-forward gap) also takes the earlier offset, so 02:30 in a 02:00
   * -> 03:00 gap becomes 03:30 (RFC 5545 3.3.5).
   */
  toUtc(local: number): number {
    const early = this.offsetAt(local - DAY);
    const late = this.offsetAt(local + DAY);
    const a = local - early;
    if (early === late || this.offsetAt(a) === early) return a;
    const b = local - late;
    return this.offsetAt(b) === late ? b : a;
  }

  toLocal(utc: number): number {
    return utc + this.offsetAt(utc);
  }
}

export const UTC_ZONE = new Zone('UTC', () => 0);

// Intl formatters are costly to build and each offset costs a formatToParts
// (microseconds): zones are memoised per process and offsets cached per UTC
// day (cachedByDay). Bounded; a pure cache, no configuration.
const intlZones = new Map<string, Zone | null>();
const MAX_DAYS = 20_000;

type DayEntry = number | { before: number; at: number; after: number };

function makeIntlZone(name: string): Zone | null {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  } catch {
    return null;
  }
  const compute = (utc: number): number => {
    const f: Record<string, number> = {};
    for (const p of fmt.formatToParts(utc * 1000)) if (p.type !== 'literal') f[p.type] = Number(p.value);
    const local = daysFromCivil(f.year ?? 1970, f.month ?? 1, f.day ?? 1) * DAY + (f.hour ?? 0) * 3600 + (f.minute ?? 0) * 60 + (f.second ?? 0);
    return local - utc;
  };
  return new Zone(fmt.resolvedOptions().timeZone, cachedByDay(compute));
}

/**
 * Wraps an exact but slow "offset at a UTC instant" with a per-UTC-day cache:
 * the offsets at the day's two ends, and where they differ, the transition
 * instant found by binary search to the second. Assumes at most one
 * transition per zone and UTC day, which holds for every real zone.
 */
function cachedByDay(compute: (utc: number) => number): (utc: number) => number {
  const edges = new Map<number, number>();
  const edge = (d: number): number => {
    let o = edges.get(d);
    if (o === undefined) edges.set(d, (o = compute(d * DAY)));
    return o;
  };
  const entry = (d: number): DayEntry => {
    const before = edge(d);
    const after = edge(d + 1);
    if (before === after) return before;
    let lo = d * DAY;
    let hi = lo + DAY;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (compute(mid) === before) lo = mid;
      else hi = mid;
    }
    return { before, at: hi, after };
  };
  const days = new Map<number, DayEntry>();
  return (utc) => {
    const d = Math.floor(utc / DAY);
    let e = days.get(d);
    if (e === undefined) {
      if (days.size >= MAX_DAYS) {
        days.clear();
        edges.clear();
      }
      days.set(d, (e = entry(d)));
    }
    return typeof e === 'number' ? e : utc < e.at ? e.before : e.after;
  };
}

/** An IANA zone by name (or an alias ICU knows), undefined when unknown. */
export function intlZone(name: string): Zone | undefined {
  if (name.toUpperCase() === 'UTC' || name === 'Etc/UTC' || name === 'GMT') return UTC_ZONE;
  let z = intlZones.get(name);
  if (z === undefined) {
    z = makeIntlZone(name);
    // Unknown names come from untrusted TZIDs: keep the memo bounded.
    if (intlZones.size >= 2000) intlZones.clear();
    intlZones.set(name, z);
  }
  return z ?? undefined;
}

/** jCal component: [name, properties, subcomponents]. */
export type JComp = [string, JProp[], JComp[]];
/** jCal property: [name, params, type, ...values]. */
export type JProp = [string, Record<string, unknown>, string, ...unknown[]];

interface Observance {
  onset: number; // local seconds of DTSTART
  from: number;
  to: number;
  rule?: Rule;
  untilLocal: number;
  rdates: number[];
}

function observanceOf(c: JComp): Observance | undefined {
  const prop = (n: string): JProp | undefined => c[1].find((p) => p[0] === n);
  const start = parseTimeValue(prop('dtstart')?.[3]);
  const from = parseUtcOffset(prop('tzoffsetfrom')?.[3]);
  const to = parseUtcOffset(prop('tzoffsetto')?.[3]);
  if (!start || from === undefined || to === undefined) return undefined;
  const o: Observance = { onset: start.local, from, to, untilLocal: Infinity, rdates: [] };
  const rr = prop('rrule')?.[3];
  if (rr !== undefined) {
    const rule = parseRule(rr);
    if (typeof rule === 'string' || rule.freq < Freq.DAILY) return undefined;
    o.rule = rule;
    // UNTIL in a VTIMEZONE rule is the UTC instant of the last onset.
    if (rule.until) o.untilLocal = rule.until.date ? rule.until.local + DAY - 1 : rule.until.local + (rule.until.utc ? from : 0);
  }
  for (const p of c[1]) {
    if (p[0] !== 'rdate') continue;
    for (const v of p.slice(3)) {
      const t = parseTimeValue(Array.isArray(v) ? v[0] : v);
      if (t) o.rdates.push(t.local);
    }
  }
  return o;
}

/** Offsets from an embedded VTIMEZONE; its rules are expanded with our own (capped) expander. */
export function vtimezoneZone(c: JComp): Zone | undefined {
  const tzid = c[1].find((p) => p[0] === 'tzid')?.[3];
  const obs = c[2].filter((s) => s[0] === 'standard' || s[0] === 'daylight').map(observanceOf);
  if (typeof tzid !== 'string' || !obs.length || obs.some((o) => !o)) return undefined;
  const list = (obs as Observance[]).sort((a, b) => a.onset - a.from - (b.onset - b.from));
  const first = list[0]!;
  const years = new Map<number, { u: number; to: number }[]>();
  const civ = new Int32Array(3);
  const transitions = (y: number): { u: number; to: number }[] => {
    let t = years.get(y);
    if (t) return t;
    t = [];
    const lo = daysFromCivil(y, 1, 1) * DAY;
    const hi = daysFromCivil(y + 1, 1, 1) * DAY;
    for (const o of list) {
      const push = (local: number): void => {
        if (local >= lo && local < hi && local <= o.untilLocal) t!.push({ u: local - o.from, to: o.to });
      };
      push(o.onset);
      for (const r of o.rdates) push(r);
      if (o.rule) {
        const lim = { from: lo, to: hi, untilLocal: o.untilLocal, maxWork: 20_000, deadlinePassed: () => false };
        expandRule(o.rule, o.onset, false, lim, (l) => (push(l), true));
      }
    }
    t.sort((a, b) => a.u - b.u);
    years.set(y, t);
    return t;
  };
  civilFromDays(Math.floor((first.onset - first.from) / DAY), civ);
  const firstYear = civ[0]!;
  return new Zone(tzid, cachedByDay((utc) => {
    civilFromDays(Math.floor(utc / DAY), civ);
    // Look back year by year (transitions are cached) for the last onset <= utc.
    for (let y = civ[0]! + 1; y >= firstYear - 1 && y > civ[0]! - 300; y--) {
      const t = transitions(y);
      for (let i = t.length - 1; i >= 0; i--) if (t[i]!.u <= utc) return t[i]!.to;
    }
    return first.from;
  }));
}

/** Resolves TZIDs of one calendar: embedded VTIMEZONE, Windows name, IANA name, then a suffix like ".../Europe/Berlin". */
export class ZoneResolver {
  constructor(
    private readonly embedded: Map<string, Zone | null>,
    readonly floating: Zone,
  ) {}

  /** The zone, or undefined when the TZID is unknown (the caller then uses floating and warns). */
  resolve(tzid: string): Zone | undefined {
    return this.embedded.get(tzid) ?? resolveZoneName(tzid);
  }
}

/** A zone by IANA or Windows name (no VTIMEZONE); undefined when unknown. */
export function resolveZoneName(name: string): Zone | undefined {
  const win = windowsZoneToIana(name);
  if (win) return intlZone(win);
  const direct = intlZone(name.trim());
  if (direct) return direct;
  // Legacy prefixed ids: "/mozilla.org/20050126_1/Europe/Berlin", ".../Tzfile/America/Argentina/Buenos_Aires".
  const parts = name.trim().split('/').filter(Boolean);
  for (const n of [3, 2]) {
    if (parts.length <= n || !/^[A-Z]/.test(parts[parts.length - n]!)) continue;
    const z = intlZone(parts.slice(-n).join('/'));
    if (z) return z;
  }
  return undefined;
}

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
}

/**
 * A wall-clock time in a zone (IANA or Windows name) as a UTC Date, with
 * RFC 5545 3.3.5's rules: a time in the spring-forward gap uses the offset
 * before the gap (02:30 -> 03:30 new time); a repeated hour means its first
 * occurrence. Undefined for an unknown zone.
 */
export function wallTimeToUtc(t: WallTime, zone: string): Date | undefined {
  const z = resolveZoneName(zone);
  if (!z) return undefined;
  const local = daysFromCivil(t.year, t.month, t.day) * DAY + (t.hour ?? 0) * 3600 + (t.minute ?? 0) * 60 + (t.second ?? 0);
  return new Date(z.toUtc(local) * 1000);
}
