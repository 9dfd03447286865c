/**
 * Error codes of protocol/ical. Broken iCalendar input is never an error (it is
 * reported in `skipped`); these are for caller mistakes only.
 */
export const IcalErrors = {
  /** The window is not a pair of valid dates with start < end. */
  ICAL_WINDOW_INVALID: 'ICAL_WINDOW_INVALID',
  /** formatVFreeBusy got a value it cannot write safely (CR/LF, bad X- name). */
  ICAL_FORMAT_INVALID: 'ICAL_FORMAT_INVALID',
  /** The floating zone is not a known IANA zone. */
  ICAL_ZONE_UNKNOWN: 'ICAL_ZONE_UNKNOWN',
} as const;
