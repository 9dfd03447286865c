/**
 * The tables as Kysely sees them (snake_case, as stored). Repositories map rows to
 * the camelCase domain types; code that queries `store.db` directly works with
 * these and must keep to the conventions below so both dialects behave alike.
 *
 * - Timestamps: epoch milliseconds in a BIGINT (SQLite: INTEGER affinity), read
 *   back as a JS number on both dialects (see connect.ts for PostgreSQL's int8).
 * - Booleans: written as 0/1 (SQLite has no boolean; PostgreSQL accepts '0'/'1'
 *   for a boolean parameter), read back as 0/1 on SQLite and true/false on
 *   PostgreSQL; use fromDbBool/toDbBool.
 * - JSON: text columns, encoded and decoded by the repositories.
 */
import type { ColumnType, Generated } from 'kysely';

export type EpochMs = number;
export type DbBool = ColumnType<boolean | number, 0 | 1, 0 | 1>;
/** JSON text: an array or object encoded with JSON.stringify. */
export type JsonText = string;

export interface UsersTable {
  /** Lower-case primary address. */
  address: string;
  display_name: string | null;
  home_system: string;
  aliases: Generated<JsonText>;
  attributes: Generated<JsonText>;
  migration_state: Generated<string>;
  source_system: string | null;
  /** The person's key in the source: an LDAP DN or a CSV row key. */
  source_id: string | null;
  content_hash: string | null;
  first_seen: EpochMs;
  last_seen: EpochMs;
  updated_at: EpochMs;
}

/** Lookup index of aliases: one row per alias, removed with its user (ON DELETE CASCADE). */
export interface UserAliasesTable {
  alias: string;
  address: string;
}

export interface CheckResultsTable {
  id: string;
  system: string;
  endpoint: string;
  ok: DbBool;
  detail: string | null;
  latency_ms: number | null;
  checked_at: EpochMs;
}

export interface AuditLogTable {
  id: string;
  at: EpochMs;
  actor: string;
  action: string;
  target: string | null;
  details: Generated<JsonText>;
}

export interface RunsTable {
  id: string;
  kind: string;
  started_at: EpochMs;
  finished_at: EpochMs | null;
  status: string;
  counts: Generated<JsonText>;
  error: string | null;
}

// --- migration engine (issue 3; migration 003-migration) -------------------
export interface MigrationUsersTable {
  address: string;
  /** pending | copying | synced | verified | failed */
  state: string;
  passes: Generated<number>;
  started_at: EpochMs | null;
  finished_at: EpochMs | null;
  counts: Generated<JsonText>;
  error: string | null;
  updated_at: EpochMs;
  /** Multi-node claiming (008-migration-lease): the worker copying this user, and until when (epoch ms); null when free. */
  lease_owner: string | null;
  lease_expires: EpochMs | null;
}

export interface MigrationFoldersTable {
  address: string;
  /** Source wire name (modified UTF-7). */
  source_folder: string;
  target_folder: string;
  uid_validity: number;
  target_uid_validity: number | null;
  highest_uid: Generated<number>;
  /** CONDSTORE HIGHESTMODSEQ of the source at the end of the last pass (decimal text). */
  highest_modseq: string | null;
  updated_at: EpochMs;
}

export interface MigrationMessagesTable {
  address: string;
  source_folder: string;
  source_uid: number;
  target_uid: number | null;
  /** intent | done | skipped | refused */
  state: string;
  size: number;
  sha256: string | null;
  /** Message-ID, size and header hash: how reconciliation finds the message on the target. */
  content_key: string | null;
  flags: Generated<JsonText>;
  detail: string | null;
  updated_at: EpochMs;
}

/** One batch's messages before their APPENDs (migration 011): JSON [[uid, size, sha256, content_key, flags], ...]. */
export interface MigrationIntentsTable {
  address: string;
  source_folder: string;
  first_uid: number;
  entries: JsonText;
  updated_at: EpochMs;
}
// --- end migration engine ---------------------------------------------------

// --- directory sync (issue 5; migration 002-directory) ---------------------
/** What one source said about one person at the last sync. */
export interface DirectoryEntriesTable {
  system: string;
  /** Normalized DN (LDAP, LDIF) or the CSV row key (the address). */
  source_id: string;
  address: string;
  aliases: Generated<JsonText>;
  display_name: string | null;
  attributes: Generated<JsonText>;
  /** field -> source attribute it was read from */
  origins: Generated<JsonText>;
  content_hash: string;
  /** modifyTimestamp / uSNChanged when the source has one */
  change_mark: string | null;
  first_seen: EpochMs;
  last_seen: EpochMs;
}

/** A contact mailbridge created (or joined) in a system's contactsDn. */
export interface DirectoryContactsTable {
  system: string;
  address: string;
  dn: string;
  source_system: string;
  content_hash: string;
  created_at: EpochMs;
  updated_at: EpochMs;
  /** The unified record's content hash the contact was written from (007-directory); null before. */
  person_hash: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Per LDAP system: what the last read was (007-directory), for incremental runs. */
export interface DirectorySourcesTable {
  system: string;
  /** Hash of server, base, filter, attribute map, contacts containers and format version. */
  fingerprint: string;
  /** JSON: normalized DN -> [change mark, reason, DN] of entries skipped for want of an address. */
  skipped: Generated<JsonText>;
  full_at: EpochMs;
  updated_at: EpochMs;
  /** The highest change mark the last read saw (entryCSN, modifyTimestamp or uSNChanged); null before the first. */
  high_mark: string | null;
}

/** Open conflicts of the last sync run. */
export interface DirectoryConflictsTable {
  /** kind|address|system */
  key: string;
  kind: string;
  address: string;
  systems: Generated<JsonText>;
  winner: string | null;
  detail: string;
  first_seen: EpochMs;
  last_seen: EpochMs;
}
// --- end directory sync -----------------------------------------------------

// --- gateway (issue 4; migration 004-gateway) ------------------------------
/** One event in the life of a message at one gateway node. */
export interface GatewayTrackingTable {
  id: string;
  at: EpochMs;
  node: string;
  queue_id: string;
  message_id: string | null;
  /** Envelope sender, lower case; '' for the null sender. */
  sender: string;
  recipient: string | null;
  /** received | delivered | deferred | bounced | held | released | deleted | retry | dsn-failed | dsn-delayed */
  event: string;
  destination: string | null;
  detail: string | null;
}
// --- end gateway ------------------------------------------------------------

// --- cutover (issue 8; migration 005-cutover) -------------------------------
export interface CutoverMetaTable {
  /** hold_version */
  name: string;
  value: number;
}

/** An address (primary, lower case) whose inbound mail the gateway keeps queued. */
export interface CutoverHoldsTable {
  address: string;
  reason: string;
  since: EpochMs;
  record_id: string | null;
}

export interface GatewayNodesTable {
  node: string;
  /** The hold version loaded with no delivery to a held address in flight. */
  hold_version_seen: number;
  heartbeat_at: EpochMs;
}

export interface CutoverUsersTable {
  address: string;
  /** cutover | rolled-back */
  state: string;
  from_system: string;
  to_system: string;
  cut_over_at: EpochMs | null;
  keep_syncing_until: EpochMs | null;
  record_id: string | null;
  updated_at: EpochMs;
}

export interface CutoverRecordsTable {
  id: string;
  address: string;
  /** cutover | rollback */
  kind: string;
  wave: string | null;
  /** running | done | refused | rolled-back | failed */
  status: string;
  failed_step: string | null;
  error: string | null;
  started_at: EpochMs;
  held_at: EpochMs | null;
  acked_at: EpochMs | null;
  released_at: EpochMs | null;
  finished_at: EpochMs | null;
  held_ms: number | null;
  details: Generated<JsonText>;
}

export interface CutoverWavesTable {
  id: string;
  name: string;
  due_at: EpochMs;
  /** pre-delta | running | done | failed */
  status: string;
  pre_delta_at: EpochMs | null;
  started_at: EpochMs | null;
  finished_at: EpochMs | null;
  report: Generated<JsonText>;
}
// --- end cutover ------------------------------------------------------------

// --- console (issue 7; migration 006-console) -------------------------------
/** One chart sample: a series (queue.depth, delivery.latency.p95, ...) at one minute. */
export interface ConsoleSamplesTable {
  series: string;
  /** Destination for queue.depth; '' when the series has no label. */
  label: Generated<string>;
  at: EpochMs;
  value: number;
}
// --- end console ------------------------------------------------------------

export interface Database {
  users: UsersTable;
  user_aliases: UserAliasesTable;
  check_results: CheckResultsTable;
  audit_log: AuditLogTable;
  runs: RunsTable;
  // directory sync (issue 5)
  directory_entries: DirectoryEntriesTable;
  directory_contacts: DirectoryContactsTable;
  directory_conflicts: DirectoryConflictsTable;
  directory_sources: DirectorySourcesTable;
  // migration engine (issue 3)
  migration_users: MigrationUsersTable;
  migration_folders: MigrationFoldersTable;
  migration_messages: MigrationMessagesTable;
  migration_intents: MigrationIntentsTable;
  // gateway (issue 4)
  gateway_tracking: GatewayTrackingTable;
  // cutover (issue 8); cutover_back_* have the columns of migration_*
  cutover_meta: CutoverMetaTable;
  cutover_holds: CutoverHoldsTable;
  gateway_nodes: GatewayNodesTable;
  cutover_users: CutoverUsersTable;
  cutover_records: CutoverRecordsTable;
  cutover_waves: CutoverWavesTable;
  cutover_back_users: MigrationUsersTable;
  cutover_back_folders: MigrationFoldersTable;
  cutover_back_messages: MigrationMessagesTable;
  cutover_back_intents: MigrationIntentsTable;
  // console (issue 7)
  console_samples: ConsoleSamplesTable;
}

export function toDbBool(v: boolean): 0 | 1 {
  return v ? 1 : 0;
}

export function fromDbBool(v: boolean | number | string): boolean {
  return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
}
