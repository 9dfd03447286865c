/**
 * Crash safety of the migration copy, one record per batch instead of one row
 * per message: before a batch's APPENDs go out, one row holds every message of
 * the batch (source UID, size, SHA-256, content key, flags) as JSON; the
 * batch's results replace it in one transaction. A restart finds the messages of
 * a leftover record on the target by content, as it did with per-message
 * 'intent' rows (which are still read, for state written before this).
 * Writing one row instead of 500 halves the engine's SQLite work per message.
 * The cutover's copy back has its own table (cutover_back_*).
 *
 * Portable DDL only (SQLite and PostgreSQL).
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const TABLES = ['migration_intents', 'cutover_back_intents'];

export async function up(db: AnyDb): Promise<void> {
  for (const t of TABLES) {
    await db.schema.createTable(t)
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('source_folder', 'text', (c) => c.notNull())
      .addColumn('first_uid', 'bigint', (c) => c.notNull())
      // JSON: [[uid, size, sha256, content_key, flags], ...]
      .addColumn('entries', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${t}_pk`, ['address', 'source_folder', 'first_uid'])
      .execute();
  }
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of TABLES) await db.schema.dropTable(t).execute();
}
