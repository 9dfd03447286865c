/**
 * migration.schedule: either an interval ("1h", "30m": a delta pass that often,
 * the first one an interval after start) or a daily local time ("02:00", or
 * several: "02:00, 14:00"). Pure: text in, schedule out; the next due time is
 * computed from a given clock.
 */
import { parseDuration } from '../core/units.js';

export type Schedule =
  | { kind: 'every'; ms: number }
  | { kind: 'daily'; times: { hour: number; minute: number }[] };

export type ScheduleResult = { ok: true; value: Schedule } | { ok: false; reason: string };

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

export function parseSchedule(text: string): ScheduleResult {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length > 0 && parts.every((p) => TIME.test(p))) {
    const times = parts.map((p) => {
      const m = TIME.exec(p)!;
      return { hour: Number(m[1]), minute: Number(m[2]) };
    }).sort((a, b) => a.hour * 60 + a.minute - (b.hour * 60 + b.minute));
    return { ok: true, value: { kind: 'daily', times } };
  }
  const d = parseDuration(text);
  if (d.ok && d.value >= 60_000) return { ok: true, value: { kind: 'every', ms: d.value } };
  if (d.ok) return { ok: false, reason: `"${text}" is shorter than 1m; delta passes that often would never finish` };
  return { ok: false, reason: `"${text}" is neither an interval (examples: 1h, 30m) nor daily times (examples: 02:00 or "02:00, 14:00")` };
}

/** Milliseconds from `now` until the schedule is next due (local time for daily times). */
export function nextDueIn(s: Schedule, now: Date): number {
  if (s.kind === 'every') return s.ms;
  for (let day = 0; day <= 1; day++) {
    for (const t of s.times) {
      const at = new Date(now.getFullYear(), now.getMonth(), now.getDate() + day, t.hour, t.minute, 0, 0);
      if (at.getTime() > now.getTime()) return at.getTime() - now.getTime();
    }
  }
  return 86_400_000;
}
