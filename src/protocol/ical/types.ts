/** Public value types of the busy-time computation (see index.ts). */

/** RFC 5545 3.2.9 FBTYPE values that mean "not free". */
export type BusyType = 'BUSY' | 'BUSY-TENTATIVE' | 'BUSY-UNAVAILABLE';

export interface BusyPeriod {
  start: Date;
  end: Date;
  type: BusyType;
}

export interface BusyOptions {
  /** Window start (inclusive). */
  start: Date;
  /** Window end (exclusive). */
  end: Date;
  /** Instances per event that may overlap the window; default 3500. */
  maxInstances?: number;
  /** Epoch ms; after it no further expansion is done and `truncated` says so. */
  deadline?: number;
  /** Clock for the deadline; default Date.now. */
  now?: () => number;
  /** IANA zone for floating times and all-day dates; default 'UTC'. */
  floatingZone?: string;
}

/** A note about one event (uid when known) or one calendar. Never carries event text. */
export interface BusyNote {
  uid?: string;
  reason: string;
}

export interface BusyResult {
  /** Merged, sorted, clipped to [start, end), UTC instants. */
  periods: BusyPeriod[];
  /** Events or calendars that could not be read; they contribute no busy time. */
  skipped: BusyNote[];
  /** Events whose expansion stopped early (instance cap, iteration cap, deadline). */
  truncated: BusyNote[];
  /** Events that were used but with an assumption (e.g. unknown TZID read as floating). */
  warnings: BusyNote[];
}

/** Busy strength order used when periods of different types overlap. */
export const BUSY_RANK: Readonly<Record<BusyType, number>> = {
  'BUSY-TENTATIVE': 1,
  BUSY: 2,
  'BUSY-UNAVAILABLE': 3,
};

export const BUSY_BY_RANK: readonly (BusyType | undefined)[] = [undefined, 'BUSY-TENTATIVE', 'BUSY', 'BUSY-UNAVAILABLE'];
