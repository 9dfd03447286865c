/** The codes of the durable queue. A write failure is transient: the peer gets 451 and retries. */
export const SpoolErrors = {
  /** Writing or syncing a message or its state failed (disk full, I/O error). */
  SPOOL_WRITE_FAILED: 'SPOOL_WRITE_FAILED',
  /** A message file could not be read back. */
  SPOOL_READ_FAILED: 'SPOOL_READ_FAILED',
  /** No message with that queue id. */
  SPOOL_NOT_FOUND: 'SPOOL_NOT_FOUND',
  /** A message file is truncated or damaged (found at start; moved to quarantine/). */
  SPOOL_CORRUPT: 'SPOOL_CORRUPT',
} as const;
export type SpoolErrorCode = (typeof SpoolErrors)[keyof typeof SpoolErrors];
