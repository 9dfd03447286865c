/**
 * Directory reads by change (issue 5, incremental run under 5 s): per LDAP
 * system, the highest change mark (entryCSN, modifyTimestamp or uSNChanged)
 * the last read saw. The next run asks the server only for entries whose
 * mark is at or above it, instead of listing every entry's mark.
 *
 * Portable DDL only (SQLite and PostgreSQL).
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('directory_sources').addColumn('high_mark', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('directory_sources').dropColumn('high_mark').execute();
}
