/**
 * Error codes of the calendar subsystem. Expected outcomes of a lookup (unknown
 * person, source down, timeout) are values in the answer, not throws; these
 * codes name them, and MbError carries them where a caller's mistake is thrown
 * (a bad window) or a source failed (inside a source, caught by the broker).
 */
export const CalendarErrors = {
  /** start/end not ISO 8601, end <= start, or window larger than calendar.maxWindow. */
  CALENDAR_WINDOW_INVALID: 'CALENDAR_WINDOW_INVALID',
  /** Not an address (local@domain). */
  CALENDAR_ADDRESS_INVALID: 'CALENDAR_ADDRESS_INVALID',
  /** No system claims the address. */
  CALENDAR_ADDRESS_UNKNOWN: 'CALENDAR_ADDRESS_UNKNOWN',
  /** The person's system has neither caldav nor freebusyUrl. */
  CALENDAR_NO_SOURCE: 'CALENDAR_NO_SOURCE',
  /** The source has no calendar for the person (home or .vfb is 404). */
  CALENDAR_NOT_FOUND: 'CALENDAR_NOT_FOUND',
  /** The per-source timeout passed. */
  CALENDAR_SOURCE_TIMEOUT: 'CALENDAR_SOURCE_TIMEOUT',
  /** Connection refused, DNS, reset, 5xx. */
  CALENDAR_SOURCE_UNREACHABLE: 'CALENDAR_SOURCE_UNREACHABLE',
  /** 401/403: mailbridge's credentials for the source are wrong or too weak. */
  CALENDAR_SOURCE_DENIED: 'CALENDAR_SOURCE_DENIED',
  /** The source answered something that is not what the protocol says. */
  CALENDAR_SOURCE_PROTOCOL: 'CALENDAR_SOURCE_PROTOCOL',
} as const;

export type CalendarErrorCode = (typeof CalendarErrors)[keyof typeof CalendarErrors];
