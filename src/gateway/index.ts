/**
 * The coexistence gateway (issue 4): SMTP listener with recipient validation
 * and relay policy, per-recipient routing, durable queue (spool), delivery over
 * SMTP/LMTP with retries and DSNs, loop protection, tracking, queue control and
 * the pickup folder.
 */
export { Gateway, gatewayHostname, gatewayRunning, destinationsFor, DEFAULT_CONCURRENCY, PID_FILE, type GatewayOptions } from './gateway.js';
export { GatewayErrors, type GatewayErrorCode } from './errors.js';
export { CsvResolver, DirectoryResolver, DirectoryOrCsvResolver, parsePeopleCsv, type RecipientResolver, type Resolution } from './resolver.js';
export { Router, destinationKey, type Route, type RouterOptions } from './router.js';
export { Tracker, searchTracking, type TrackInput, type TrackQuery, type TrackRow } from './tracking.js';
export { applyQueueCommand, selectMessages, type QueueCommand, type QueueOp, type QueueSelector, type QueueCommandResult } from './queue-ops.js';
export { parsePickup } from './pickup.js';
export type { Destination } from './transport.js';
export { queueByDestination, type DestinationQueue } from './queue-stats.js';
export { HoldSet, StoreHoldGate, HEARTBEAT_MS, type HoldGate } from './holds.js';
export { HELD_REPLY } from './delivery.js';
export { credentialCheck, type Authenticate } from './auth.js';
