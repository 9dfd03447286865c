/**
 * Directory synchronization state (issue 5): what each source said about each
 * person (so `directory show` can say where a value came from and the next run
 * can skip unchanged entries by content hash), the contacts mailbridge keeps in
 * each system, and the open conflicts.
 *
 * Portable DDL only, as in 001.
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('directory_entries')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('aliases', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('display_name', 'text')
    .addColumn('attributes', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('origins', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('change_mark', 'text')
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_entries_pk', ['system', 'source_id'])
    .execute();
  await db.schema.createIndex('directory_entries_address').on('directory_entries').column('address').execute();

  await db.schema
    .createTable('directory_contacts')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('dn', 'text', (c) => c.notNull())
    .addColumn('source_system', 'text', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_contacts_pk', ['system', 'address'])
    .execute();

  await db.schema
    .createTable('directory_conflicts')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('systems', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('winner', 'text')
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('directory_conflicts_address').on('directory_conflicts').column('address').execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of ['directory_conflicts', 'directory_contacts', 'directory_entries']) {
    await db.schema.dropTable(t).execute();
  }
}
