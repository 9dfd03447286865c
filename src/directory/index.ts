/**
 * Directory synchronization (issue 5): sources (LDAP with paged results, CSV,
 * LDIF), the unified directory in the store, contacts in every other system,
 * the deletion guard, Postfix maps, and the resolver the gateway routes by.
 */
export { DirectoryErrors, type DirectoryErrorCode } from './errors.js';
export type {
  SourcePerson, ExistingContact, DesiredContact, Conflict, ConflictKind, RoutingDecision, UnifiedPerson, ItemChange, SyncDiff,
} from './types.js';
export { runDirectorySync, type SyncDeps, type SyncOptions, type SyncResult, type SyncWrites, type DirectorySettings } from './sync.js';
export { resolveRecipient, type Resolution } from './resolve.js';
export { showRecord, type ShowResult, type ShownEntry } from './show.js';
export { exportPostfix, findPostmap, type PostfixExportResult } from './postfix.js';
export { formatSyncResult, formatShow } from './format.js';
export { attributeMap, type Flavor } from './mapping.js';
export { MARKER_PREFIX, markerFor } from './contacts.js';
export { chooseHome } from './unify.js';
export { scheduleDirectorySync, type DirectorySchedule, type Timers } from './schedule.js';
