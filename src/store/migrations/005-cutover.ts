/**
 * Zero-loss cutover (issue 8).
 *
 * - cutover_holds: addresses whose inbound mail every gateway node keeps
 *   queued (per recipient), and cutover_meta.hold_version, bumped with every
 *   change so a gateway node notices one with a single-row read.
 * - gateway_nodes: per gateway node the hold version it has loaded with no
 *   delivery to a held address in flight (its acknowledgement), and a heartbeat.
 * - cutover_users: who is cut over, since when, and the --keep-syncing grace.
 * - cutover_records: one row per cutover or rollback attempt (times, counts).
 * - cutover_waves: one row per executed wave (name + due time), with its report.
 * - cutover_back_*: the migration engine's state for the copy back of a
 *   rollback (new system -> old system). Same columns as migration_*, other
 *   tables, so the forward map (keyed by address + source folder) is untouched.
 *
 * Portable DDL only (SQLite and PostgreSQL).
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.createTable('cutover_meta')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('cutover_meta').values({ name: 'hold_version', value: 0 }).execute();

  await db.schema.createTable('cutover_holds')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addColumn('record_id', 'text')
    .execute();

  await db.schema.createTable('gateway_nodes')
    .addColumn('node', 'text', (c) => c.primaryKey())
    .addColumn('hold_version_seen', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.createTable('cutover_users')
    .addColumn('address', 'text', (c) => c.primaryKey())
    // cutover | rolled-back
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('from_system', 'text', (c) => c.notNull())
    .addColumn('to_system', 'text', (c) => c.notNull())
    .addColumn('cut_over_at', 'bigint')
    .addColumn('keep_syncing_until', 'bigint')
    .addColumn('record_id', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.createTable('cutover_records')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('address', 'text', (c) => c.notNull())
    // cutover | rollback
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('wave', 'text')
    // running | done | refused | rolled-back | failed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('failed_step', 'text')
    .addColumn('error', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('held_at', 'bigint')
    .addColumn('acked_at', 'bigint')
    .addColumn('released_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('held_ms', 'bigint')
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('cutover_records_address').on('cutover_records').columns(['address', 'started_at']).execute();

  await db.schema.createTable('cutover_waves')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    // pre-delta | running | done | failed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('pre_delta_at', 'bigint')
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('report', 'text', (c) => c.notNull().defaultTo('{}'))
    .addUniqueConstraint('cutover_waves_name_due', ['name', 'due_at'])
    .execute();

  await db.schema.createTable('cutover_back_users')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('passes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('counts', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('error', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('cutover_back_folders')
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('source_folder', 'text', (c) => c.notNull())
    .addColumn('target_folder', 'text', (c) => c.notNull())
    .addColumn('uid_validity', 'bigint', (c) => c.notNull())
    .addColumn('target_uid_validity', 'bigint')
    .addColumn('highest_uid', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('highest_modseq', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('cutover_back_folders_pk', ['address', 'source_folder'])
    .execute();
  await db.schema.createTable('cutover_back_messages')
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('source_folder', 'text', (c) => c.notNull())
    .addColumn('source_uid', 'bigint', (c) => c.notNull())
    .addColumn('target_uid', 'bigint')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text')
    .addColumn('content_key', 'text')
    .addColumn('flags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('detail', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('cutover_back_messages_pk', ['address', 'source_folder', 'source_uid'])
    .execute();
  await db.schema.createIndex('cutover_back_messages_state').on('cutover_back_messages')
    .columns(['address', 'source_folder', 'state']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of ['cutover_back_messages', 'cutover_back_folders', 'cutover_back_users', 'cutover_waves', 'cutover_records',
    'cutover_users', 'gateway_nodes', 'cutover_holds', 'cutover_meta']) {
    await db.schema.dropTable(t).execute();
  }
}
