/**
 * Civil-calendar arithmetic on plain numbers, and parsers for the jCal value
 * strings that ical.js produces. A wall-clock time is kept as "local seconds":
 * days since 1970-01-01 * 86400 + seconds of the day, as if it were UTC. No
 * objects per instance: the recurrence expander calls these in tight loops.
 */

export const DAY = 86400;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Year, month (1-12), day of a day number, written into `out` (no allocation). */
export function civilFromDays(z: number, out: Int32Array): void {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out[0] = m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400;
  out[1] = m;
  out[2] = d;
}

export function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : (MONTH_DAYS[m - 1] ?? 30);
}

/** Weekday of a day number: 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday). */
export function weekday(z: number): number {
  return (((z + 3) % 7) + 7) % 7;
}

/** A parsed DATE or DATE-TIME value. */
export interface TimeValue {
  /** Local seconds (see file header); for UTC values this is the UTC instant. */
  local: number;
  date: boolean;
  utc: boolean;
}

function validDate(y: number, m: number, d: number): boolean {
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** Digits of s[from, from+n) as a number, or -1 if any is not a digit. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses a jCal date ("2026-03-29") or date-time ("2026-03-29T02:30:00", with
 * optional Z) string; undefined when it is not a valid time. ical.js turns
 * "DTSTART:20260101" (a DATE without VALUE=DATE) into "2026-01-01T::": read as
 * that date. Hand-rolled: it runs for every DTSTART, EXDATE and RDATE.
 */
export function parseTimeValue(v: unknown): TimeValue | undefined {
  if (typeof v !== 'string' || v.length < 10 || v[4] !== '-' || v[7] !== '-') return undefined;
  const y = digits(v, 0, 4);
  const mo = digits(v, 5, 2);
  const d = digits(v, 8, 2);
  if (!validDate(y, mo, d)) return undefined;
  const day = daysFromCivil(y, mo, d) * DAY;
  if (v.length === 10 || v === `${v.slice(0, 10)}T::`) return { local: day, date: true, utc: false };
  const utc = v.length === 20 && v[19] === 'Z';
  if ((v.length !== 19 && !utc) || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':') return undefined;
  const h = digits(v, 11, 2);
  const mi = digits(v, 14, 2);
  const sec = digits(v, 17, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return undefined;
  // A leap second (:60) is read as :59; busy time is not that precise.
  return { local: day + h * 3600 + mi * 60 + Math.min(sec, 59), date: false, utc };
}

/** A duration split into nominal days (calendar days, DST-aware) and exact seconds (RFC 5545 3.3.6). */
export interface DurationValue {
  days: number;
  seconds: number;
}

const DURATION_RE = /^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function parseDuration(v: unknown): DurationValue | undefined {
  if (typeof v !== 'string') return undefined;
  const m = DURATION_RE.exec(v);
  if (!m || v.endsWith('P') || v.endsWith('T')) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  const days = Number(m[2] ?? 0) * 7 + Number(m[3] ?? 0);
  const seconds = Number(m[4] ?? 0) * 3600 + Number(m[5] ?? 0) * 60 + Number(m[6] ?? 0);
  return { days: sign * days, seconds: sign * seconds };
}

const OFFSET_RE = /^([+-])(\d{2}):?(\d{2})(?::?(\d{2}))?$/;

/** A UTC-OFFSET value ("+01:00", "-00:30:15") in seconds east of UTC. */
export function parseUtcOffset(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = OFFSET_RE.exec(v);
  if (!m) return undefined;
  const secs = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
  if (secs >= DAY) return undefined;
  return m[1] === '-' ? -secs : secs;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** RFC 5545 UTC DATE-TIME form of an epoch-ms instant: 20260329T013000Z. */
export function formatUtc(ms: number): string {
  const d = new Date(ms);
  return (
    pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) + 'T' +
    pad(d.getUTCHours()) + pad(d.getUTCMinutes()) + pad(d.getUTCSeconds()) + 'Z'
  );
}
