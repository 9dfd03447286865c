/**
 * The SQLite handle behind a store's Kysely instance, for the few hot paths
 * that write many rows per second (the migration's per-message state).
 *
 * Going through Kysely costs, per statement, a compiled query object, the
 * driver's connection mutex and several promises; per transaction, BEGIN and
 * COMMIT as separate awaited queries. better-sqlite3 is synchronous anyway, so
 * a batch of rows written here is one synchronous BEGIN IMMEDIATE ... COMMIT
 * with prepared statements: in bench/migrate (8 mailboxes in parallel) the
 * Kysely path and the JIT work it drew were a quarter of the engine's CPU.
 *
 * Safety: the write runs only when no Kysely transaction is open on the same
 * connection (`inTransaction`); otherwise the caller takes its Kysely path,
 * which waits for that transaction. A synchronous transaction cannot interleave
 * with anything else in this process. Errors become the same MbError as on the
 * Kysely path (driver.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { StoreErrors, wrapDbError } from './errors.js';

const handles = new WeakMap<object, DirectSqlite>();

export class DirectSqlite {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly raw: BetterSqlite3.Database) {}

  /** False while a Kysely transaction is open on this connection: use the Kysely path then. */
  get available(): boolean {
    return this.raw.open && !this.raw.inTransaction && !this.raw.readonly;
  }

  private statement(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      // Callers use a few fixed texts; the bound only guards against one that is not.
      if (this.statements.size >= 64) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private wrap(err: unknown, sql: string): never {
    throw wrapDbError(err, StoreErrors.STORE_QUERY_FAILED, 'store query failed', { dialect: 'sqlite', details: { sql: sql.slice(0, 200) } });
  }

  /** Runs `sql` once per parameter list, all in one BEGIN IMMEDIATE transaction. */
  runMany(sql: string, params: readonly unknown[][]): void {
    this.transaction(() => this.runEach(sql, params));
  }

  /** Runs `fn` (this handle's run/runEach/all) in one BEGIN IMMEDIATE transaction: all or nothing. */
  transaction(fn: () => void): void {
    try {
      this.raw.transaction(fn).immediate();
    } catch (err) {
      this.wrap(err, 'transaction');
    }
  }

  /** Runs `sql` once per parameter list (inside transaction() for atomicity). */
  runEach(sql: string, params: readonly unknown[][]): void {
    if (params.length === 0) return;
    try {
      const s = this.statement(sql);
      for (const p of params) s.run(p);
    } catch (err) {
      this.wrap(err, sql);
    }
  }

  /** One statement (autocommit). */
  run(sql: string, params: readonly unknown[]): void {
    try {
      this.statement(sql).run(params);
    } catch (err) {
      this.wrap(err, sql);
    }
  }

  /** The rows of a SELECT. */
  all<R>(sql: string, params: readonly unknown[]): R[] {
    try {
      return this.statement(sql).all(params) as R[];
    } catch (err) {
      this.wrap(err, sql);
    }
  }
}

/** Called once by the store when it opens a SQLite file. */
export function registerSqlite(db: Kysely<unknown> | object, raw: BetterSqlite3.Database): void {
  handles.set(db, new DirectSqlite(raw));
}

/** The direct handle when `db` is a store's SQLite Kysely instance (not a transaction, not PostgreSQL). */
export function directSqlite(db: object): DirectSqlite | undefined {
  return handles.get(db);
}
