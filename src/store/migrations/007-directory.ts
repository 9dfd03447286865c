/**
 * Incremental directory sync (issue 5, "Speed"):
 *
 * - directory_sources: per LDAP system, a fingerprint of what was read (server,
 *   base, filter, attribute map, contacts containers, format version) so a
 *   changed configuration forces a full read, the entries the last read
 *   skipped (no usable address) with their change marks, and when the last
 *   full read happened.
 * - directory_contacts.person_hash: the unified record's content hash the
 *   contact was written from; a contact whose person still has that hash is
 *   trusted without reading it back.
 *
 * Portable DDL only (SQLite and PostgreSQL).
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('directory_sources')
    .addColumn('system', 'text', (c) => c.primaryKey())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('skipped', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('full_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('directory_contacts').addColumn('person_hash', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('directory_contacts').dropColumn('person_hash').execute();
  await db.schema.dropTable('directory_sources').execute();
}
