/**
 * Schema migrations: Kysely's Migrator with the in-code list from
 * migrations/index.ts, run on every read-write open.
 *
 * Two processes opening one store at once:
 * - PostgreSQL: the Migrator holds a session advisory lock around one transaction
 *   containing all pending migrations; the second process waits, then finds
 *   nothing pending. Its table bootstrap (kysely_migration) tolerates the race.
 * - SQLite: the same transaction begins IMMEDIATE (driver.ts), so the second
 *   process waits on busy_timeout for the write lock. Inside one process,
 *   better-sqlite3 would wait synchronously and block the very event loop the
 *   first opener needs to finish, so opens of one file in one process are
 *   serialized by a promise chain first.
 */
import { Migrator, type Kysely } from 'kysely';
import { MbError, describeError } from '../core/index.js';
import { StoreErrors, classifyDbError, scrubSecrets } from './errors.js';
import { LATEST_MIGRATION, MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

const MIGRATION_TABLE = 'kysely_migration';

// A type alias, not an interface: withTables needs an index-signature-compatible type.
type MigrationTables = {
  kysely_migration: { name: string; timestamp: string };
};

const fileLocks = new Map<string, Promise<void>>();

/** Runs fn after every earlier fn for the same key in this process has settled. */
async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = fileLocks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = previous.then(() => mine);
  fileLocks.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (fileLocks.get(key) === tail) fileLocks.delete(key);
  }
}

/** Names of the applied migrations, oldest first; [] on a store never migrated. */
export async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return [];
  const rows = await db.withTables<MigrationTables>().selectFrom(MIGRATION_TABLE).select('name').orderBy('name').execute();
  return rows.map((r) => r.name);
}

function migrationError(message: string, cause?: unknown, secrets: readonly string[] = []): MbError {
  const retry = cause === undefined ? 'permanent' : MbError.is(cause) ? cause.retry : classifyDbError(cause).retry;
  return new MbError(StoreErrors.STORE_MIGRATION_FAILED, scrubSecrets(message, secrets), {
    retry,
    ...(cause === undefined ? {} : { cause }),
    details: { latest: LATEST_MIGRATION },
  });
}

/** A store touched by a newer mailbridge has migrations we do not know: refuse rather than guess. */
function checkKnown(applied: readonly string[], location: string): void {
  const unknown = applied.filter((n) => !(n in MIGRATIONS));
  if (unknown.length > 0) {
    throw migrationError(
      `store ${location} has migration ${unknown.join(', ')} that this mailbridge does not know ` +
        `(it was upgraded by a newer version; this one goes up to ${LATEST_MIGRATION})`,
    );
  }
}

export interface MigrateTarget {
  db: Kysely<Database>;
  location: string;
  secrets: readonly string[];
  /** SQLite file path: the in-process serialization key. */
  file?: string;
}

/** The migrations the store has applied; refuses a store migrated by a newer build. */
async function readKnownApplied(t: MigrateTarget): Promise<string[]> {
  let applied: string[];
  try {
    applied = await appliedMigrations(t.db);
  } catch (err) {
    throw migrationError(`cannot read the migration state of ${t.location}: ${describeError(err)}`, err, t.secrets);
  }
  checkKnown(applied, t.location);
  return applied;
}

export async function migrateToLatest(t: MigrateTarget): Promise<string[]> {
  const run = async (): Promise<string[]> => {
    await readKnownApplied(t);
    const migrator = new Migrator({ db: t.db, provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) } });
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      const what = failed ? `migration ${failed}` : 'migration';
      throw migrationError(`${what} of ${t.location} failed: ${describeError(error)}`, error, t.secrets);
    }
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  };
  return t.file && t.file !== ':memory:' ? serialized(t.file, run) : run();
}

/** Read-only opens do not migrate: they need a store already at this build's latest migration. */
export async function requireLatest(t: MigrateTarget): Promise<void> {
  const applied = await readKnownApplied(t);
  const current = applied.at(-1);
  if (current !== LATEST_MIGRATION) {
    throw migrationError(
      `store ${t.location} is at migration ${current ?? '(none)'}, this mailbridge needs ${LATEST_MIGRATION}; ` +
        'open it once read-write (any command that writes) to migrate it',
    );
  }
}

export async function latestApplied(db: Kysely<Database>): Promise<string> {
  const row = await db
    .withTables<MigrationTables>()
    .selectFrom(MIGRATION_TABLE)
    .select('name')
    .orderBy('name', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.name ?? '';
}
