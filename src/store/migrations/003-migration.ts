/**
 * Migration engine state (issue 3): per user the pass state, per user and source
 * folder the UIDVALIDITY and the highest UID done, and per message the source UID
 * -> target UID map with size and SHA-256. A message row is written as an
 * 'intent' before its APPEND and turned 'done' after (with the APPENDUID), so a
 * restart after kill -9 knows which APPEND may have been in flight.
 *
 * Portable DDL only (SQLite and PostgreSQL). MODSEQ is a 63-bit number: text.
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('migration_users')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('passes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('counts', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('error', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('migration_folders')
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('source_folder', 'text', (c) => c.notNull())
    .addColumn('target_folder', 'text', (c) => c.notNull())
    .addColumn('uid_validity', 'bigint', (c) => c.notNull())
    .addColumn('target_uid_validity', 'bigint')
    .addColumn('highest_uid', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('highest_modseq', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('migration_folders_pk', ['address', 'source_folder'])
    .execute();

  await db.schema
    .createTable('migration_messages')
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('source_folder', 'text', (c) => c.notNull())
    .addColumn('source_uid', 'bigint', (c) => c.notNull())
    .addColumn('target_uid', 'bigint')
    // intent | done | skipped | refused
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text')
    .addColumn('content_key', 'text')
    .addColumn('flags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('detail', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('migration_messages_pk', ['address', 'source_folder', 'source_uid'])
    .execute();
  // Crash recovery looks for the intents of one folder.
  await db.schema.createIndex('migration_messages_state').on('migration_messages')
    .columns(['address', 'source_folder', 'state']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of ['migration_messages', 'migration_folders', 'migration_users']) {
    await db.schema.dropTable(t).execute();
  }
}
