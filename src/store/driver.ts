/**
 * A Kysely dialect wrapper that makes every database failure an MbError
 * (STORE_QUERY_FAILED, classified transient or permanent) at the one place all
 * queries pass, so code using `store.db` directly gets the same errors as the
 * repositories, and an application error thrown inside a transaction callback is
 * never mistaken for a database error.
 *
 * For SQLite it also begins write transactions with BEGIN IMMEDIATE: in WAL mode a
 * deferred transaction that reads and then writes while another process committed
 * in between fails at once with SQLITE_BUSY_SNAPSHOT (the busy handler is not
 * consulted); taking the write lock up front makes it wait for busy_timeout
 * instead. SQLite allows one writer at a time anyway, so nothing is lost.
 */
import {
  CompiledQuery,
  SqliteAdapter,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { StoreErrors, wrapDbError, type WrapContext } from './errors.js';

/**
 * SQLite has transactional DDL; Kysely's adapter says otherwise only to stay on
 * the safe side. Saying true makes the Migrator run all pending migrations in one
 * transaction, which (see beginTransaction below) is BEGIN IMMEDIATE: the lock a
 * second process waits on while the first migrates.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class GuardedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly ctx: WrapContext,
  ) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(q);
    } catch (err) {
      throw wrapDbError(err, StoreErrors.STORE_QUERY_FAILED, 'store query failed', {
        ...this.ctx,
        details: { sql: q.sql.slice(0, 200) },
      });
    }
  }

  async *streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(q, chunkSize);
    } catch (err) {
      throw wrapDbError(err, StoreErrors.STORE_QUERY_FAILED, 'store query failed', this.ctx);
    }
  }
}

function unwrap(c: DatabaseConnection): DatabaseConnection {
  return c instanceof GuardedConnection ? c.inner : c;
}

class GuardedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly ctx: WrapContext,
  ) {}

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrapDbError(err, StoreErrors.STORE_QUERY_FAILED, what, this.ctx);
    }
  }

  init(): Promise<void> {
    return this.guard('store init failed', () => this.inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const c = await this.guard('store connection failed', () => this.inner.acquireConnection());
    return new GuardedConnection(c, this.ctx);
  }

  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (this.ctx.dialect === 'sqlite') {
      const sql = settings.accessMode === 'read only' ? 'begin deferred' : 'begin immediate';
      // c is a GuardedConnection, so a failure (SQLITE_BUSY after busy_timeout) is already wrapped.
      return c.executeQuery(CompiledQuery.raw(sql)).then(() => undefined);
    }
    return this.guard('store begin failed', () => this.inner.beginTransaction(unwrap(c), settings));
  }

  commitTransaction(c: DatabaseConnection): Promise<void> {
    return this.guard('store commit failed', () => this.inner.commitTransaction(unwrap(c)));
  }

  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return this.guard('store rollback failed', () => this.inner.rollbackTransaction(unwrap(c)));
  }

  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.guard('store savepoint failed', () => this.inner.savepoint!(unwrap(c), name, compile));
  }

  async rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.guard('store savepoint failed', () => this.inner.rollbackToSavepoint!(unwrap(c), name, compile));
  }

  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.guard('store savepoint failed', () => this.inner.releaseSavepoint!(unwrap(c), name, compile));
  }

  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(c));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

export class GuardedDialect implements Dialect {
  constructor(
    private readonly inner: Dialect,
    private readonly ctx: WrapContext,
  ) {}

  createDriver(): Driver {
    return new GuardedDriver(this.inner.createDriver(), this.ctx);
  }

  createQueryCompiler(): QueryCompiler {
    return this.inner.createQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return this.ctx.dialect === 'sqlite' ? new TransactionalDdlSqliteAdapter() : this.inner.createAdapter();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.inner.createIntrospector(db);
  }
}
