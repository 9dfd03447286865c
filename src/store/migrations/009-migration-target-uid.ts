/**
 * An index for the engine's lookups by target UID (issue 3): the target UIDs a
 * window of the target folder has already given to source messages
 * (MigrationState.claimedTargetUidsIn: per source folder of the user, a range of
 * target_uid) were a scan of every row of the folder for every window. With
 * (address, source_folder, target_uid) each window is one index range per source
 * folder.
 *
 * The copy-back state (cutover_back_messages, same columns, read by the same
 * engine through a table-renaming plugin) gets the same index.
 *
 * Portable DDL only (SQLite and PostgreSQL).
 */
import type { Kysely } from 'kysely';

// Migrations see the database as it was when they were written, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const TABLES = ['migration_messages', 'cutover_back_messages'];

export async function up(db: AnyDb): Promise<void> {
  for (const t of TABLES) {
    await db.schema.createIndex(`${t}_target_uid`).on(t).columns(['address', 'source_folder', 'target_uid']).execute();
  }
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of TABLES) await db.schema.dropIndex(`${t}_target_uid`).execute();
}
