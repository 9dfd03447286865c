/** How a spool is opened (clock, read-only, sizes, test seams), and what opening it quarantined. */

export interface SpoolOptions {
  now?: () => number;
  /** Open without changing anything (reporting commands): no quarantine moves, no tmp cleanup. */
  readonly?: boolean;
  /** Test hook: replaces the write of a batch of message records (to simulate a full disk). */
  writeHook?: (path: string, data: Buffer) => Promise<void>;
  /** Segment size before a new one is started (bytes). */
  segmentBytes?: number;
  /** Journal size before it is compacted (bytes). */
  journalBytes?: number;
  /** maintain() moves messages still queued out of segments older than this (ms). */
  evacuateAfterMs?: number;
  /**
   * Test hook (fault injection): awaited before each file step of housekeeping
   * and of folder syncs, with the step's name, its path and (for writes) the
   * bytes about to be written; throwing fails that step as a disk error would.
   */
  fault?: FaultHook;
}

/**
 * Steps: dir.sync, evacuate.write, evacuate.sync, evacuate.rename, evacuate.renamed (after the rename: an error
 * reported for a rename that took effect), segment.unlink, journal.write, journal.sync, journal.rename,
 * journal.renamed, journal.unlink.
 */
export type FaultHook = (step: string, path: string, data?: Buffer) => void | Promise<void>;

export interface QuarantinedFile {
  file: string;
  reason: string;
}
