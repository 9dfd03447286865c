/**
 * The answer on the wire: JSON, or iCalendar with one VFREEBUSY per attendee
 * (RFC 5545 3.6.4, written by protocol/ical). Only periods and their FBTYPE
 * ever leave: no titles, locations or attendees of the events themselves.
 * Attendees that could not be looked up carry X-MAILBRIDGE-STATUS and
 * X-MAILBRIDGE-ERROR and no FREEBUSY lines.
 */
import { formatVFreeBusy } from '../protocol/ical/index.js';
import type { AttendeeFreeBusy, FreeBusyAnswer } from './types.js';

export function attendeeJson(a: AttendeeFreeBusy): Record<string, unknown> {
  return {
    address: a.address,
    status: a.status,
    ...(a.system ? { system: a.system } : {}),
    busy: a.periods.map((p) => ({ start: p.start.toISOString(), end: p.end.toISOString(), type: p.type })),
    ...(a.method ? { method: a.method } : {}),
    ...(a.cache ? { cache: a.cache } : {}),
    ...(a.skipped ? { skipped: a.skipped } : {}),
    ...(a.truncated ? { truncated: a.truncated } : {}),
    ...(a.error ? { error: a.error } : {}),
  };
}

export function answerJson(ans: FreeBusyAnswer): { start: string; end: string; attendees: Record<string, unknown>[] } {
  return { start: ans.start.toISOString(), end: ans.end.toISOString(), attendees: ans.attendees.map(attendeeJson) };
}

function vfreebusy(a: AttendeeFreeBusy, ans: FreeBusyAnswer, dtstamp: Date): string[] {
  const extra: Record<string, string> = { 'X-MAILBRIDGE-STATUS': a.status };
  if (a.error) extra['X-MAILBRIDGE-ERROR'] = a.error.message;
  if (a.truncated) extra['X-MAILBRIDGE-TRUNCATED'] = String(a.truncated);
  const text = formatVFreeBusy({ organizer: a.address, attendee: a.address, start: ans.start, end: ans.end, periods: a.periods, dtstamp, extra });
  const lines = text.split('\r\n');
  return lines.slice(lines.indexOf('BEGIN:VFREEBUSY'), lines.indexOf('END:VFREEBUSY') + 1);
}

/** One VCALENDAR (METHOD:PUBLISH) holding one VFREEBUSY per attendee. */
export function formatAnswerIcs(ans: FreeBusyAnswer, dtstamp: Date): string {
  const head = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//mailbridge//free-busy//EN', 'METHOD:PUBLISH'];
  return [...head, ...ans.attendees.flatMap((a) => vfreebusy(a, ans, dtstamp)), 'END:VCALENDAR'].join('\r\n') + '\r\n';
}
