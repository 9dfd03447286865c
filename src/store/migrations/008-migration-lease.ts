/**
 * Multi-node claiming of migration users (DESIGN.md "One machine, then many"):
 * a lease on each migration user row. A worker claims a user by writing its
 * owner id and an expiry (epoch ms) when the row has no live lease; it renews
 * the expiry while it copies and clears both at the end. A crashed worker's
 * lease runs out and another worker takes the user over.
 *
 * The copy-back state (cutover_back_users, same columns as migration_users,
 * used through a table-renaming plugin) gets the same columns, since the engine
 * claims there too.
 *
 * Portable DDL only (SQLite and PostgreSQL).
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const TABLES = ['migration_users', 'cutover_back_users'];

export async function up(db: AnyDb): Promise<void> {
  for (const t of TABLES) {
    await db.schema.alterTable(t).addColumn('lease_owner', 'text').execute();
    await db.schema.alterTable(t).addColumn('lease_expires', 'bigint').execute();
  }
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of TABLES) {
    await db.schema.alterTable(t).dropColumn('lease_expires').execute();
    await db.schema.alterTable(t).dropColumn('lease_owner').execute();
  }
}
