/** Value types of the calendar subsystem (see index.ts). */
import type { BusyNote, BusyPeriod } from '../protocol/ical/index.js';

export type { BusyPeriod, BusyType } from '../protocol/ical/index.js';

/** A free/busy window: [start, end), UTC instants. */
export interface Window {
  start: Date;
  end: Date;
}

/** A person as a source sees them: the primary address (aliases already resolved). */
export interface Person {
  address: string;
  local: string;
  domain: string;
}

/** How an answer was obtained from a source. */
export type SourceMethod = 'free-busy-query' | 'calendar-query' | 'freebusy-url';

/** What a source returns for one person and window. */
export interface SourceAnswer {
  periods: BusyPeriod[];
  method: SourceMethod;
  /** Events or calendars that could not be read (reasons only, never event text). */
  skipped: BusyNote[];
  /** Expansions cut short by the instance cap or the deadline. */
  truncated: BusyNote[];
}

/** One system's free/busy source (CalDAV or a published free/busy URL). */
export interface FreeBusySource {
  readonly kind: 'caldav' | 'freebusy-url';
  readonly system: string;
  /**
   * Busy time of one person. Throws MbError with a CalendarErrors code when
   * the source cannot answer; `signal` aborts at the per-source timeout.
   */
  fetchBusy(person: Person, window: Window, opts: { signal: AbortSignal; deadline: number }): Promise<SourceAnswer>;
}

/**
 * Per-attendee outcome. Every status but `ok` means "no information": the
 * periods are empty and `error` says why.
 */
export type AttendeeStatus =
  | 'ok'
  | 'unknown'      // no system claims the address
  | 'no-source'    // the person's system has no calendar source configured
  | 'not-found'    // the source has no calendar for the person
  | 'timeout'      // the source did not answer within calendar.timeout
  | 'unreachable'  // connection failed or the source answered 5xx
  | 'denied'       // the source refused mailbridge's credentials
  | 'error';       // the source answered something unusable

export interface AttendeeFreeBusy {
  /** The address as asked (lower-cased). */
  address: string;
  status: AttendeeStatus;
  /** The system that holds the calendar, when known. */
  system?: string;
  /** Merged, sorted, UTC, clipped to the window. */
  periods: BusyPeriod[];
  method?: SourceMethod;
  /** miss: asked the source now; fresh/stale: from the cache (stale is being refreshed). */
  cache?: 'miss' | 'fresh' | 'stale';
  /** Count of events the source gave that could not be read (logged with reasons). */
  skipped: number;
  /** Count of recurrence expansions cut short (instance cap or deadline). */
  truncated: number;
  error?: { code: string; message: string };
}

export interface FreeBusyAnswer {
  start: Date;
  end: Date;
  attendees: AttendeeFreeBusy[];
}
