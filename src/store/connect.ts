/**
 * Opening the two kinds of database behind one Kysely<Database>.
 *
 * SQLite (the embedded default, one machine):
 * - journal_mode=WAL: readers never block the writer and the writer never blocks
 *   readers, so the web console reads while the gateway and a sync write; the
 *   store is the .db file plus its -wal (and the -shm index) while open.
 * - synchronous=NORMAL: with WAL, SQLite then fsyncs the WAL at checkpoints
 *   rather than at every commit. A crash of the process loses nothing (the WAL is
 *   written before commit returns); a power cut can lose the last commits, but
 *   never corrupts the database (https://www.sqlite.org/pragma.html#pragma_synchronous,
 *   https://www.sqlite.org/wal.html). Our durable promise to senders rests on the
 *   spool, which fsyncs itself, not on this file.
 * - busy_timeout: a second process (`mailbridge directory sync` while `serve`
 *   runs) waits for the write lock instead of failing at once. better-sqlite3
 *   waits synchronously, so one process should hold one Store per file, and
 *   transactions stay short.
 * - foreign_keys=ON: off by default in SQLite; user_aliases relies on its cascade.
 *
 * PostgreSQL (several nodes): a pg Pool whose int8 parser returns a JS number.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { MbError } from '../core/index.js';
import { GuardedDialect } from './driver.js';
import { StoreErrors, wrapDbError } from './errors.js';
import { cachingDatabase } from './statement-cache.js';
import { registerSqlite } from './sqlite-direct.js';
import { redactUrl, urlSecrets } from './redact.js';
import type { Database } from './schema.js';

export const SQLITE_BUSY_TIMEOUT_MS = 5000;
const PG_CONNECT_TIMEOUT_MS = 10_000;

export interface Opened {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Where the store is, safe to print (password replaced). */
  location: string;
  /** Secrets to scrub from messages. */
  secrets: string[];
  /** For SQLite: the resolved file path (in-process migration lock key). */
  file?: string;
}

export function openSqlite(file: string, readonly: boolean): Opened {
  const memory = file === ':memory:';
  const path = memory ? file : resolve(file);
  let raw: BetterSqlite3.Database;
  try {
    if (!memory && !readonly) mkdirSync(dirname(path), { recursive: true });
    raw = new BetterSqlite3(path, { readonly, fileMustExist: readonly, timeout: SQLITE_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw wrapDbError(err, StoreErrors.STORE_OPEN_FAILED, `cannot open SQLite store ${path}`, { dialect: 'sqlite' });
  }
  try {
    // busy_timeout first: the journal_mode switch below itself needs the lock.
    raw.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    if (!readonly && !memory) {
      const mode = raw.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`journal_mode is ${String(mode)}, WAL is not available here`);
    }
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
  } catch (err) {
    raw.close();
    throw wrapDbError(err, StoreErrors.STORE_OPEN_FAILED, `cannot set up SQLite store ${path}`, { dialect: 'sqlite' });
  }
  const db = new Kysely<Database>({
    dialect: new GuardedDialect(new SqliteDialect({ database: cachingDatabase(raw) }), { dialect: 'sqlite' }),
  });
  registerSqlite(db, raw);
  return { db, dialect: 'sqlite', location: path, secrets: [], file: path };
}

/**
 * int8 (OID 20) as a JS number: timestamps are epoch ms (about 1.8e12 today,
 * far below 2^53 ≈ 9.007e15, which is the year 287396) and counts of rows
 * stay below 2^53 too, so Number() is exact. Set on this pool only (pg's `types`
 * option), not with pg.types.setTypeParser, which would change every other pg
 * user in the process.
 */
const INT8_OID = 20;
function getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
  if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
  return pg.types.getTypeParser(oid, format);
}

export function openPostgres(url: string, readonly: boolean, onBackgroundError?: (err: MbError) => void): Opened {
  const location = redactUrl(url);
  const secrets = urlSecrets(url);
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      types: { getTypeParser: getTypeParser as typeof pg.types.getTypeParser },
      connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
      application_name: 'mailbridge',
      // Read-only opens (reporting commands) cannot write even by mistake.
      ...(readonly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
  } catch (err) {
    throw wrapDbError(err, StoreErrors.STORE_OPEN_FAILED, `cannot open PostgreSQL store ${location}`, { dialect: 'postgres', secrets });
  }
  // An idle client losing its server (restart, failover) is reported here; without
  // a listener Node would crash the process. The pool drops that client and the
  // next query reconnects or fails with a transient STORE_QUERY_FAILED.
  pool.on('error', (err) => {
    const wrapped = wrapDbError(err, StoreErrors.STORE_QUERY_FAILED, `idle PostgreSQL connection to ${location} failed`, {
      dialect: 'postgres',
      secrets,
    });
    onBackgroundError?.(wrapped);
  });
  const db = new Kysely<Database>({
    dialect: new GuardedDialect(new PostgresDialect({ pool }), { dialect: 'postgres', secrets }),
  });
  return { db, dialect: 'postgres', location, secrets };
}

/** One round trip, so a bad URL or a stopped server fails at open, not at the first query. */
export async function ping(o: Opened): Promise<void> {
  try {
    await sql`select 1`.execute(o.db);
  } catch (err) {
    const cause = MbError.is(err) && err.cause !== undefined ? err.cause : err;
    throw wrapDbError(cause, StoreErrors.STORE_OPEN_FAILED, `cannot reach ${o.dialect} store ${o.location}`, {
      dialect: o.dialect,
      secrets: o.secrets,
    });
  }
}
