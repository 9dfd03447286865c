/** The durable queue (issue 4): message files synced before the 250, per-recipient state logs, quarantine, retry schedule. */
export { Spool, type SpoolOptions, type QuarantinedFile } from './spool.js';
export { SpoolErrors, type SpoolErrorCode } from './errors.js';
export { nextAttemptAt } from './retry.js';
export { QUEUE_ID } from './format.js';
export type {
  SpoolEnvelope, SpoolRecipient, RecipientDsn, RecipientState, RecipientStatus, QueuedMessage, StateChange,
} from './types.js';
