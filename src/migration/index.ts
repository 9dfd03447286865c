/**
 * The migration engine (issue 3): plan, copy, re-sync and verify mailboxes IMAP
 * to IMAP. The CLI and serve talk to it only through this file.
 */
export { MigrationErrors, type MigrationErrorCode } from './errors.js';
export { directoryUsers, parseUsersCsv, type DirectoryUsers } from './users.js';
export { TtyProgress, applyProgress, newProgress, renderProgress, type ProgressState, type ProgressStream } from './progress.js';
export { ServerLimiter } from './throttle.js';
export { migrateUser, migrateUsers, type EngineDeps } from './engine.js';
export { planUser, verifyUser, type UserPlan } from './inspect.js';
export { ESTIMATE_METHOD, type PlanFolder } from './plan.js';
export type { UserRow as MigrationUserRow } from './state.js';
export type { UserVerify, Difference, FolderVerify, VerifyCache } from './verify.js';
export { MigrationState } from './state.js';
export { collapseCrRuns, contentId, sha256 } from './content.js';
export type { MigrationUser, UserPassReport, FolderReport, FolderCounts, ProgressEvent, Refusal, DroppedKeywords } from './types.js';
export { DEFAULT_LEASE_MS, UserLease, newLeaseOwner, type ClaimResult, type LeaseHolder } from './lease.js';
