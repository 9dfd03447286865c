/**
 * The foundation's tables: the unified user record with its alias index, endpoint
 * check results, the audit log and job runs. Gateway tracking, spool state,
 * directory sync state and migration progress come in later migrations.
 *
 * Portable DDL only: the same statements run on SQLite and PostgreSQL. `boolean`
 * is a real type on PostgreSQL and NUMERIC affinity holding 0/1 on SQLite;
 * `bigint` holds epoch ms on both.
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('display_name', 'text')
    .addColumn('home_system', 'text', (c) => c.notNull())
    .addColumn('aliases', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('attributes', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('migration_state', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('source_system', 'text')
    .addColumn('source_id', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('users_home_system').on('users').columns(['home_system', 'address']).execute();
  // Directory sync finds a person again by the key in the source system.
  await db.schema.createIndex('users_source').on('users').columns(['source_system', 'source_id']).execute();

  await db.schema
    .createTable('user_aliases')
    .addColumn('alias', 'text', (c) => c.primaryKey())
    .addColumn('address', 'text', (c) => c.notNull().references('users.address').onDelete('cascade'))
    .execute();
  // Without it, deleting a user scans the alias table (the FK side is not indexed by itself).
  await db.schema.createIndex('user_aliases_address').on('user_aliases').column('address').execute();

  await db.schema
    .createTable('check_results')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('ok', 'boolean', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('latency_ms', 'integer')
    .addColumn('checked_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('check_results_system_endpoint_at')
    .on('check_results')
    .columns(['system', 'endpoint', 'checked_at'])
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('counts', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('runs_kind_started').on('runs').columns(['kind', 'started_at']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of ['runs', 'audit_log', 'check_results', 'user_aliases', 'users']) {
    await db.schema.dropTable(t).execute();
  }
}
