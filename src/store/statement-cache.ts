/**
 * Prepared statements kept by SQL text for the SQLite dialect.
 *
 * Kysely's SQLite driver calls `db.prepare(sql)` for every query it runs. For
 * the hot paths (the migration's state rows, the gateway's tracking events)
 * the same few statements run thousands of times a second, and compiling them
 * again each time was 4-5% of a migration's CPU (bench/migrate, profile of
 * 8 parallel mailboxes). better-sqlite3 statements can be run any number of
 * times, so we keep the most recent ones, at most `limit`, and compile only
 * what is new. A statement still iterating (a streamed SELECT) is `busy`; a
 * second use of the same SQL then gets its own, uncached statement.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export function cachingDatabase(raw: BetterSqlite3.Database, limit = 256): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      cache.clear();
      raw.close();
    },
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        // Map order is insertion order: re-insert so eviction drops the least recently used.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit as unknown as SqliteStatement;
      }
      const stmt = raw.prepare(sql);
      if (!hit) {
        cache.set(sql, stmt);
        if (cache.size > limit) cache.delete(cache.keys().next().value as string);
      }
      return stmt as unknown as SqliteStatement;
    },
  };
}
