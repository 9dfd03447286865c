/**
 * protocol/ical: busy time from iCalendar data (free/busy across systems).
 * Pure: strings in, values out; no I/O, no config, no logger.
 *
 * Rules as decided here (each has a test):
 * - Busy type: STATUS:CANCELLED and TRANSP:TRANSPARENT are free; then
 *   X-MICROSOFT-CDO-BUSYSTATUS (FREE/WORKINGELSEWHERE free, TENTATIVE,
 *   BUSY, OOF = BUSY-UNAVAILABLE); then STATUS:TENTATIVE; else BUSY.
 * - All-day (DATE) events cover whole days in `floatingZone` (default UTC),
 *   as do floating date-times. A DATE start without DTEND/DURATION lasts one
 *   day; a DATE-TIME start without either takes no time (RFC 5545 3.6.1) and
 *   adds no busy time. DURATION days are calendar days (DST-aware), DTEND is
 *   exact.
 * - An override (RECURRENCE-ID) replaces its instance; without DTSTART it
 *   starts at its RECURRENCE-ID, without DTEND/DURATION it keeps the series'
 *   length. RANGE=THISANDFUTURE is read as a single-instance override.
 * - TZID: embedded VTIMEZONE first, then Windows name, IANA name, or a
 *   legacy prefixed id (".../Europe/Berlin"); unknown TZIDs are read as
 *   floating time and reported in `warnings` (busy time is kept, not lost).
 * - Wall time to UTC follows RFC 5545 3.3.5 (gap: offset before the gap;
 *   repeated hour: first occurrence).
 * - Caps: `maxInstances` instances per event in the window; a work cap that
 *   counts every period, day and candidate the expander looks at
 *   (max(100000, 100 * maxInstances)); the deadline is polled while
 *   expanding. All end in `truncated`, never in a throw.
 */
export type { BusyType, BusyPeriod, BusyOptions, BusyResult, BusyNote } from './types.js';
export { busyFromCalendars, DEFAULT_MAX_INSTANCES } from './busy.js';
export { busyFromFreeBusy, formatVFreeBusy, foldLine, type VFreeBusyInput } from './freebusy.js';
export { mergePeriods } from './merge.js';
export { windowsZoneToIana } from './windows-zones.js';
export { wallTimeToUtc, type WallTime } from './zones.js';
export { IcalErrors } from './errors.js';
