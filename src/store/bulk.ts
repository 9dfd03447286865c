/**
 * Many rows in one statement, passed as one JSON array parameter that the
 * database unpacks itself (SQLite json_each, PostgreSQL jsonb_array_elements).
 * The SQL text depends only on the table and columns, so it is prepared once
 * (statement-cache.ts), where a query builder compiles a VALUES list of every
 * row anew: on the migration's message map and the gateway's tracking events
 * that compiling was the larger part of the cost of writing them.
 *
 * Table and column names come from our own code, never from input.
 */
import { PostgresAdapter, sql, type QueryExecutorProvider, type RawBuilder } from 'kysely';

export interface BulkColumn { name: string; type: 'text' | 'bigint' }

const CHUNK = 1000;

export function isPostgres(db: QueryExecutorProvider): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** `ON CONFLICT (key) DO UPDATE SET` every other column to the new row's value. */
export function upsertOn(key: readonly string[], columns: readonly BulkColumn[]): RawBuilder<unknown> {
  const set = columns.filter((c) => !key.includes(c.name)).map((c) => `${c.name} = excluded.${c.name}`).join(', ');
  return sql.raw(`ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${set}`);
}

/** Inserts `rows` (values in the order of `columns`), 1,000 per statement; call inside a transaction for atomicity. */
export async function bulkInsert(db: QueryExecutorProvider, table: string, columns: readonly BulkColumn[], rows: readonly (readonly unknown[])[],
  conflict?: RawBuilder<unknown>): Promise<void> {
  if (rows.length === 0) return;
  const pg = isPostgres(db);
  const names = sql.raw(columns.map((c) => c.name).join(', '));
  const values = sql.raw(columns.map((c, i) => (pg ? (c.type === 'bigint' ? `(j.v->>${i})::bigint` : `j.v->>${i}`) : `j.value->>${i}`)).join(', '));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const json = JSON.stringify(rows.slice(i, i + CHUNK));
    const from = pg ? sql`jsonb_array_elements(${json}::jsonb) AS j(v)` : sql`json_each(${json}) AS j WHERE true`;
    // sql.table, not sql.raw: a table identifier, so a Kysely plugin that renames tables (the cutover's copy back) applies.
    await sql`INSERT INTO ${sql.table(table)} (${names}) SELECT ${values} FROM ${from} ${conflict ?? sql``}`.execute(db);
  }
}
