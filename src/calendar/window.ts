/**
 * The free/busy window of a request: strict ISO 8601 parsing (extended and
 * basic form, as clients and iCalendar write it), the default window for
 * clients that send none (Outlook's Internet free/busy URL), and the limits.
 */
import { MbError } from '../core/errors.js';
import { CalendarErrors } from './errors.js';
import type { Window } from './types.js';

export interface WindowLimits {
  /** Default window before now, ms. */
  windowBack: number;
  /** Default window after now, ms. */
  windowForward: number;
  /** Largest end - start, ms. */
  maxWindow: number;
}

const HOUR = 3_600_000;

const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+\- ]\d{2}(?::?\d{2})?)?)?$/i;
const BASIC = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+\- ]\d{2}(?:\d{2})?)?)?$/i;

function offsetMinutes(z: string | undefined): number {
  if (!z || z.toUpperCase() === 'Z') return 0;
  // A '+' in a query string arrives as a space (form encoding); read it as '+'.
  const sign = z[0] === '-' ? -1 : 1;
  const digits = z.slice(1).replace(':', '');
  const h = Number(digits.slice(0, 2));
  const m = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (h > 14 || m > 59) return NaN;
  return sign * (h * 60 + m);
}

/**
 * An ISO 8601 date or date-time as a UTC instant, or null when malformed.
 * A date alone is midnight UTC; a date-time without offset is read as UTC.
 * Impossible fields (2030-02-30, 25:00) are malformed, not rolled over.
 */
export function parseInstant(text: string): Date | null {
  const s = text.trim();
  const m = EXTENDED.exec(s) ?? BASIC.exec(s);
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', sec = '0', frac = ''] = m.slice(1, 8) as string[];
  const nums = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec)] as const;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5], ms);
  const check = new Date(utc);
  if (check.getUTCFullYear() !== nums[0] || check.getUTCMonth() !== nums[1] - 1 || check.getUTCDate() !== nums[2]
    || check.getUTCHours() !== nums[3] || check.getUTCMinutes() !== nums[4] || check.getUTCSeconds() !== nums[5]) return null;
  const off = offsetMinutes(m[8]);
  if (!Number.isFinite(off)) return null;
  return new Date(utc - off * 60_000);
}

function invalid(message: string, details: Record<string, unknown> = {}): MbError {
  return new MbError(CalendarErrors.CALENDAR_WINDOW_INVALID, message, { details });
}

/**
 * The window of a request. Without start and end: from windowBack before now to
 * windowForward after it, widened to whole hours so that repeated requests
 * (Outlook polls) share cache entries. With only one of them, the other is
 * windowForward away. Throws CALENDAR_WINDOW_INVALID (HTTP 400, exit 2).
 */
export function resolveWindow(q: { start?: string; end?: string }, limits: WindowLimits, now: number): Window {
  const parse = (name: 'start' | 'end'): Date | undefined => {
    const v = q[name];
    if (v === undefined || v === '') return undefined;
    const d = parseInstant(v);
    if (!d) throw invalid(`${name} is not an ISO 8601 date or date-time: ${JSON.stringify(v.slice(0, 40))}`, { [name]: v.slice(0, 40) });
    return d;
  };
  let start = parse('start');
  let end = parse('end');
  if (!start && !end) {
    start = new Date(Math.floor((now - limits.windowBack) / HOUR) * HOUR);
    end = new Date(Math.ceil((now + limits.windowForward) / HOUR) * HOUR);
    // The default must never be refused: back + forward may exceed maxWindow in a config.
    if (end.getTime() - start.getTime() > limits.maxWindow) end = new Date(start.getTime() + limits.maxWindow);
  } else if (!end) {
    end = new Date(start!.getTime() + limits.windowForward);
  } else if (!start) {
    start = new Date(end.getTime() - limits.windowForward);
  }
  const span = end.getTime() - start!.getTime();
  if (span <= 0) throw invalid('end must be after start', { start: start!.toISOString(), end: end.toISOString() });
  if (span > limits.maxWindow) {
    throw invalid(`the window is ${formatDays(span)}; at most ${formatDays(limits.maxWindow)} may be asked for (calendar.maxWindow)`,
      { start: start!.toISOString(), end: end.toISOString() });
  }
  return { start: start!, end };
}

function formatDays(ms: number): string {
  const days = ms / (24 * HOUR);
  return Number.isInteger(days) ? `${days} days` : `${days.toFixed(2)} days`;
}
