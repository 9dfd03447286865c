/**
 * The store: one Kysely<Database> over SQLite (default, one machine) or
 * PostgreSQL (several nodes), migrated on open, with small dialect-neutral
 * repositories. Everything that fails below this line is an MbError with a
 * STORE_* code (errors.ts); connection strings in messages have their password
 * replaced.
 */
import type { Kysely } from 'kysely';
import { MbError } from '../core/index.js';
import { openPostgres, openSqlite, ping, type Opened } from './connect.js';
import { StoreErrors, wrapDbError } from './errors.js';
import { createIdGenerator } from './ids.js';
import { latestApplied, migrateToLatest, requireLatest } from './migrate.js';
import type { Database } from './schema.js';
import { AuditRepo } from './repos/audit.js';
import { CheckRepo } from './repos/checks.js';
import type { RepoContext } from './repos/context.js';
import { RunRepo } from './repos/runs.js';
import { UserRepo } from './repos/users.js';
import { CutoverRepo } from './repos/cutover.js';
import { ConsoleRepo } from './repos/console.js';

export { bulkInsert, isPostgres, upsertOn, type BulkColumn } from './bulk.js';
export { directSqlite, type DirectSqlite } from './sqlite-direct.js';
export { StoreErrors, type StoreErrorCode } from './errors.js';
export { redactUrl } from './redact.js';
export { LATEST_MIGRATION } from './migrations/index.js';
export type * from './schema.js';
export { toDbBool, fromDbBool } from './schema.js';
export { UserRepo, normalizeAddress } from './repos/users.js';
export type { StoredUser, UserUpsert, UpsertResult, AliasConflict, UserListOptions } from './repos/users.js';
export { CheckRepo } from './repos/checks.js';
export type { CheckInput, CheckResult } from './repos/checks.js';
export { AuditRepo } from './repos/audit.js';
export type { AuditInput, AuditEntry } from './repos/audit.js';
export { RunRepo } from './repos/runs.js';
export { CutoverRepo } from './repos/cutover.js';
export type { HoldRow, GatewayNode, CutoverUser, CutoverRecord, CutoverRecordPatch, WaveRun } from './repos/cutover.js';
export type { Run, RunKind, RunStatus, RunCounts } from './repos/runs.js';
export { ConsoleRepo, containsPattern } from './repos/console.js';
export type {
  PersonRow, PeopleQuery, ConflictRow, RunRow as ConsoleRunRow, MigrationUserRow as ConsoleMigrationUser, MigrationFolderRow, RefusedRow,
  ThroughputBucket, SampleInput, SeriesPoints,
} from './repos/console.js';

export interface StoreOptions {
  /** Path of the SQLite file (created with its folder when missing), or ':memory:'. */
  sqlite?: string;
  /** postgres://user:password@host:port/db; takes precedence over sqlite when both are set. */
  postgres?: string;
  /** Do not migrate or write: for reporting commands; the store must already be migrated. */
  readonly?: boolean;
  /** Clock for the timestamps the repositories write (epoch ms); Date.now by default. */
  now?: () => number;
  /** Failures outside any query (an idle PostgreSQL connection dropped); ignored when absent. */
  onBackgroundError?: (err: MbError) => void;
}

export interface Repos {
  users: UserRepo;
  checks: CheckRepo;
  audit: AuditRepo;
  runs: RunRepo;
  /** The console's reads and chart samples (issue 7). */
  console: ConsoleRepo;
  /** Cutover holds, gateway acknowledgements, cutover records and waves (issue 8). */
  cutover: CutoverRepo;
}

export interface Store extends Repos {
  readonly db: Kysely<Database>;
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the store is, safe to print (password replaced). */
  readonly location: string;
  close(): Promise<void>;
  /** Name of the latest applied migration, e.g. '001-initial'. */
  migrationVersion(): Promise<string>;
  /**
   * Runs fn in one transaction; it commits when fn resolves and rolls back when
   * it throws (fn's error is rethrown unchanged). `repos` are bound to the
   * transaction. On SQLite the transaction holds the write lock from its start.
   */
  transaction<T>(fn: (tx: Kysely<Database>, repos: Repos) => Promise<T>): Promise<T>;
}

function makeRepos(ctx: RepoContext): Repos {
  return { users: new UserRepo(ctx), checks: new CheckRepo(ctx), audit: new AuditRepo(ctx), runs: new RunRepo(ctx), console: new ConsoleRepo(ctx), cutover: new CutoverRepo(ctx) };
}

function connect(opts: StoreOptions): Opened {
  const readonly = opts.readonly ?? false;
  if (opts.postgres) return openPostgres(opts.postgres, readonly, opts.onBackgroundError);
  if (opts.sqlite) return openSqlite(opts.sqlite, readonly);
  throw new MbError(StoreErrors.STORE_OPEN_FAILED, 'store: neither store.sqlite nor store.postgres is set');
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const o = connect(opts);
  const target = { db: o.db, location: o.location, secrets: o.secrets, ...(o.file ? { file: o.file } : {}) };
  try {
    await ping(o);
    if (opts.readonly) await requireLatest(target);
    else await migrateToLatest(target);
  } catch (err) {
    await o.db.destroy().catch(() => undefined);
    throw err;
  }
  const now = opts.now ?? Date.now;
  const base: RepoContext = { db: o.db, dialect: o.dialect, now, newId: createIdGenerator(now) };
  let closed: Promise<void> | undefined;
  return {
    db: o.db,
    dialect: o.dialect,
    location: o.location,
    ...makeRepos(base),
    close() {
      closed ??= o.db.destroy().catch((err: unknown) => {
        throw wrapDbError(err, StoreErrors.STORE_QUERY_FAILED, `closing store ${o.location} failed`, {
          dialect: o.dialect,
          secrets: o.secrets,
        });
      });
      return closed;
    },
    migrationVersion: () => latestApplied(o.db),
    transaction: (fn) => o.db.transaction().execute((tx) => fn(tx, makeRepos({ ...base, db: tx }))),
  };
}
