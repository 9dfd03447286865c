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

export interface Database {
  users: UsersTable;
  user_aliases: UserAliasesTable;
  check_results: CheckResultsTable;
  audit_log: AuditLogTable;
  runs: RunsTable;
}

export function toDbBool(v: boolean): 0 | 1 {
  return v ? 1 : 0;
}

export function fromDbBool(v: boolean | number | string): boolean {
  return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
}
