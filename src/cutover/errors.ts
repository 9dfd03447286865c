/** Error codes of the cutover (MbError.code and the `code` of a failed step). */
export const CutoverErrors = {
  /** A pre-check failed: last pass not clean, verify differs, user unknown or already cut over. Nothing changed. */
  CUTOVER_REFUSED: 'CUTOVER_REFUSED',
  /** A system (the target, or the source for the final pass) could not be reached. */
  CUTOVER_UNREACHABLE: 'CUTOVER_UNREACHABLE',
  /** A live gateway node did not acknowledge the hold in time. */
  CUTOVER_ACK_TIMEOUT: 'CUTOVER_ACK_TIMEOUT',
  /** The final delta pass (or the copy back of a rollback) failed or had refusals. */
  CUTOVER_DELTA_FAILED: 'CUTOVER_DELTA_FAILED',
  /** verify after the final delta pass found differences. */
  CUTOVER_VERIFY_FAILED: 'CUTOVER_VERIFY_FAILED',
  /** The store could not be written (hold, flip, release). */
  CUTOVER_STORE_FAILED: 'CUTOVER_STORE_FAILED',
  /** An unknown wave name, or a wave without users. */
  CUTOVER_WAVE_UNKNOWN: 'CUTOVER_WAVE_UNKNOWN',
} as const;
export type CutoverErrorCode = (typeof CutoverErrors)[keyof typeof CutoverErrors];
