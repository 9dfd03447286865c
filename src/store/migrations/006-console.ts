/**
 * The console's chart history (issue 7): one row per series, label and minute,
 * written by `serve`'s sampler (queue depth per destination, delivery latency
 * p50/p95, migration messages and bytes copied) and pruned after 48 h. The
 * label is '' for a series without one (never NULL: it is part of the key).
 * Also an index on migration_messages.updated_at for the throughput queries.
 *
 * Portable DDL only (SQLite and PostgreSQL): double precision is REAL on SQLite.
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('console_samples')
    .addColumn('series', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('console_samples_pk', ['series', 'label', 'at'])
    .execute();
  // Pruning and "everything since T" read by time.
  await db.schema.createIndex('console_samples_at').on('console_samples').column('at').execute();
  // The sampler reads "messages copied in the last minute" every minute, and the
  // throughput chart the last 24 h: without this, a full scan of the message map.
  await db.schema.createIndex('migration_messages_updated').on('migration_messages').column('updated_at').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('migration_messages_updated').execute();
  await db.schema.dropTable('console_samples').execute();
}
