/**
 * The engine's state in the store (tables of migration 003-migration): per user
 * the pass state, per user+folder UIDVALIDITY and the highest UID done, per
 * message the source UID -> target UID map. Dialect-neutral Kysely; the bulk
 * message write goes through store/bulk.ts.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, MigrationFoldersTable, MigrationMessagesTable, MigrationUsersTable } from '../store/index.js';
import { bulkInsert, directSqlite, isPostgres, upsertOn, type BulkColumn, type DirectSqlite } from '../store/index.js';

export type FolderRow = Selectable<MigrationFoldersTable>;
export type MessageRow = Selectable<MigrationMessagesTable>;
export type UserRow = Selectable<MigrationUsersTable>;

export type MessageState = 'intent' | 'done' | 'skipped' | 'refused';

export interface MessageWrite {
  uid: number;
  state: MessageState;
  size: number;
  targetUid?: number | null;
  sha256?: string | null;
  key?: string | null;
  flags?: readonly string[];
  detail?: string | null;
}

type Db = Kysely<Database>;

const MESSAGE_COLUMNS: BulkColumn[] = [
  { name: 'address', type: 'text' }, { name: 'source_folder', type: 'text' }, { name: 'source_uid', type: 'bigint' },
  { name: 'state', type: 'text' }, { name: 'size', type: 'bigint' }, { name: 'target_uid', type: 'bigint' },
  { name: 'sha256', type: 'text' }, { name: 'content_key', type: 'text' }, { name: 'flags', type: 'text' },
  { name: 'detail', type: 'text' }, { name: 'updated_at', type: 'bigint' },
];
const MESSAGE_KEY = ['address', 'source_folder', 'source_uid'];
const MESSAGE_UPSERT = upsertOn(MESSAGE_KEY, MESSAGE_COLUMNS);

/**
 * SQLite through Kysely: rows in chunks of 128, 64, ... 1 (11 parameters a row, far below SQLite's limit of
 * 32,766), so there are at most 8 statement texts, not one per batch size, in the store's statement cache.
 */
const SQLITE_ROWS = 128;
/** The largest power of two <= min(n, SQLITE_ROWS). */
const chunkOf = (n: number): number => Math.min(SQLITE_ROWS, 2 ** Math.floor(Math.log2(n)));

/** The one-row upsert the direct SQLite path prepares once (the store's own tables only: see sqlite()). */
const MESSAGE_UPSERT_SQL = `INSERT INTO migration_messages (${MESSAGE_COLUMNS.map((c) => c.name).join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')}) `
  + `ON CONFLICT (${MESSAGE_KEY.join(', ')}) DO UPDATE SET ${MESSAGE_COLUMNS.filter((c) => !MESSAGE_KEY.includes(c.name)).map((c) => `${c.name} = excluded.${c.name}`).join(', ')}`;

/** A batch record's change with a write: `put` the batch's intents (keyed by its first UID), `clear` a batch record by its first UID. */
export interface IntentChange { put?: readonly MessageWrite[]; clear?: number }

const INTENT_PUT_SQL = 'INSERT INTO migration_intents (address, source_folder, first_uid, entries, updated_at) VALUES (?, ?, ?, ?, ?) '
  + 'ON CONFLICT (address, source_folder, first_uid) DO UPDATE SET entries = excluded.entries, updated_at = excluded.updated_at';
const INTENT_CLEAR_SQL = 'DELETE FROM migration_intents WHERE address = ? AND source_folder = ? AND first_uid = ?';

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function normMessage(r: MessageRow): MessageRow {
  return { ...r, source_uid: num(r.source_uid), target_uid: r.target_uid === null ? null : num(r.target_uid), size: num(r.size) };
}

const FOLDER_UPSERT = 'INSERT INTO migration_folders (address, source_folder, target_folder, uid_validity, target_uid_validity, highest_uid, '
  + 'highest_modseq, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address, source_folder) DO UPDATE SET target_folder = excluded.target_folder, '
  + 'uid_validity = excluded.uid_validity, target_uid_validity = excluded.target_uid_validity, highest_uid = excluded.highest_uid, '
  + 'highest_modseq = excluded.highest_modseq, updated_at = excluded.updated_at';
const BY_FOLDER = 'FROM migration_messages WHERE address = ? AND source_folder = ?';

/**
 * The engine's per-folder and per-batch statements run on the SQLite handle when there is one and no Kysely
 * transaction is open (store/sqlite-direct.ts; the same SQL the Kysely path below builds), else through Kysely
 * (PostgreSQL). They run a few times per folder and window, for every folder of every user: through the query
 * builder they and the JIT work they drew were a visible part of the engine's CPU with 8 mailboxes in parallel.
 */
export class MigrationState {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /**
   * Only for the store's own Kysely instance: the cutover's copy back passes a Kysely with a table-renaming plugin
   * (cutover/copy-back.ts), a different instance, which has no direct handle and keeps the Kysely path.
   */
  private sqlite(): DirectSqlite | undefined {
    const d = directSqlite(this.db);
    return d?.available ? d : undefined;
  }

  async folder(address: string, source: string): Promise<FolderRow | undefined> {
    const d = this.sqlite();
    const r = d ? d.all<FolderRow>('SELECT * FROM migration_folders WHERE address = ? AND source_folder = ?', [address, source])[0]
      : await this.db.selectFrom('migration_folders').selectAll().where('address', '=', address).where('source_folder', '=', source).executeTakeFirst();
    return r && { ...r, uid_validity: num(r.uid_validity), highest_uid: num(r.highest_uid),
      target_uid_validity: r.target_uid_validity === null ? null : num(r.target_uid_validity) };
  }

  async folders(address: string): Promise<FolderRow[]> {
    const rows = await this.db.selectFrom('migration_folders').selectAll().where('address', '=', address).execute();
    return rows.map((r) => ({ ...r, uid_validity: num(r.uid_validity), highest_uid: num(r.highest_uid),
      target_uid_validity: r.target_uid_validity === null ? null : num(r.target_uid_validity) }));
  }

  async saveFolder(row: Omit<FolderRow, 'updated_at'>): Promise<void> {
    const values = { ...row, updated_at: this.now() };
    const d = this.sqlite();
    if (d) {
      d.run(FOLDER_UPSERT, [values.address, values.source_folder, values.target_folder, values.uid_validity, values.target_uid_validity,
        values.highest_uid, values.highest_modseq, values.updated_at]);
      return;
    }
    await this.db.insertInto('migration_folders').values(values)
      .onConflict((oc) => oc.columns(['address', 'source_folder']).doUpdateSet({
        target_folder: values.target_folder, uid_validity: values.uid_validity, target_uid_validity: values.target_uid_validity,
        highest_uid: values.highest_uid, highest_modseq: values.highest_modseq, updated_at: values.updated_at,
      }))
      .execute();
  }

  /** Forgets a folder's message map (its UIDVALIDITY changed): reconciliation rebuilds it by content. */
  async forgetMessages(address: string, source: string): Promise<void> {
    await this.db.deleteFrom('migration_messages').where('address', '=', address).where('source_folder', '=', source).execute();
    await this.clearIntents(address, source);
  }

  /**
   * Writes rows in one transaction, with an optional change to the batch intents (`intent`: one record per batch,
   * put before its APPENDs, cleared with its results, store migration 011). PostgreSQL: one JSON parameter per 1,000
   * rows (store/bulk.ts). SQLite: directly on the store's better-sqlite3 handle when no Kysely transaction is open
   * (store/sqlite-direct.ts: the Kysely path and the JIT work it drew were 0.25-0.3 s of 3.4-3.6 s of the engine's
   * CPU with 8 mailboxes), else VALUES upserts of up to 128 rows built through Kysely.
   */
  async writeMessages(address: string, source: string, rows: readonly MessageWrite[], intent?: IntentChange): Promise<void> {
    if (rows.length === 0 && !intent) return;
    const now = this.now();
    const tuples = rows.map((r) => [address, source, r.uid, r.state, r.size, r.targetUid ?? null, r.sha256 ?? null, r.key ?? null,
      JSON.stringify(r.flags ?? []), r.detail ?? null, now]);
    const put = intent?.put && intent.put.length > 0 ? { address, source_folder: source, first_uid: intent.put[0]!.uid,
      entries: JSON.stringify(intent.put.map((e) => [e.uid, e.size, e.sha256 ?? null, e.key ?? null, e.flags ?? []])), updated_at: now } : undefined;
    const clear = intent?.clear;
    // SQLite with no Kysely transaction open: one synchronous transaction of prepared statements (sqlite-direct.ts).
    const direct = this.sqlite();
    if (direct) {
      direct.transaction(() => {
        direct.runEach(MESSAGE_UPSERT_SQL, tuples);
        if (put) direct.run(INTENT_PUT_SQL, [put.address, put.source_folder, put.first_uid, put.entries, put.updated_at]);
        if (clear !== undefined) direct.run(INTENT_CLEAR_SQL, [address, source, clear]);
      });
      return;
    }
    this.pg ??= isPostgres(this.db);
    await this.db.transaction().execute(async (tx) => {
      if (this.pg) await bulkInsert(tx, 'migration_messages', MESSAGE_COLUMNS, tuples, MESSAGE_UPSERT);
      else {
        // Built as a query (the table an identifier), not as SQL text: this path also serves the cutover's copy back,
        // whose Kysely renames the migration tables to cutover_back_* through a plugin, which SQL text would bypass.
        for (let i = 0; i < tuples.length;) {
          const part = tuples.slice(i, i + chunkOf(tuples.length - i));
          await sql`INSERT INTO ${sql.table('migration_messages')} (${sql.raw(MESSAGE_COLUMNS.map((c) => c.name).join(', '))}) VALUES ${
            sql.join(part.map((t) => sql`(${sql.join(t)})`))} ${MESSAGE_UPSERT}`.execute(tx);
          i += part.length;
        }
      }
      if (put) {
        await tx.insertInto('migration_intents').values(put)
          .onConflict((oc) => oc.columns(['address', 'source_folder', 'first_uid']).doUpdateSet({ entries: put.entries, updated_at: put.updated_at })).execute();
      }
      if (clear !== undefined) {
        await tx.deleteFrom('migration_intents').where('address', '=', address).where('source_folder', '=', source).where('first_uid', '=', clear).execute();
      }
    });
  }

  /**
   * Every message a crash may have left between intent and result: the batch records' entries (as rows in state
   * 'intent') and per-message 'intent' rows written before store migration 011. Ascending by source UID.
   */
  async intents(address: string, source: string): Promise<MessageRow[]> {
    const out = await this.messages(address, source, 'intent');
    const d = this.sqlite();
    const recs = d ? d.all<{ entries: string; updated_at: number }>('SELECT entries, updated_at FROM migration_intents WHERE address = ? AND source_folder = ?', [address, source])
      : await this.db.selectFrom('migration_intents').select(['entries', 'updated_at']).where('address', '=', address).where('source_folder', '=', source).execute();
    const entries: MessageRow[] = [];
    for (const r of recs) {
      for (const [uid, size, sha, key, flags] of JSON.parse(r.entries) as [number, number, string | null, string | null, string[]][]) {
        entries.push({ address, source_folder: source, source_uid: uid, target_uid: null, state: 'intent', size, sha256: sha, content_key: key,
          flags: JSON.stringify(flags), detail: null, updated_at: num(r.updated_at) });
      }
    }
    // An entry that has a row is resolved (a recovery that wrote it stopped before it cleared the records): leave it,
    // and records left with nothing unresolved are spent.
    const known = new Set((await this.messagesByUids(address, source, entries.map((e) => e.source_uid))).map((r) => r.source_uid));
    const open = entries.filter((e) => !known.has(e.source_uid));
    if (recs.length > 0 && open.length === 0) await this.clearIntents(address, source);
    return [...out, ...open].sort((x, y) => x.source_uid - y.source_uid);
  }

  /** Forgets the batch records of a folder (their messages are resolved, or the folder's map is rebuilt). */
  async clearIntents(address: string, source: string): Promise<void> {
    await this.db.deleteFrom('migration_intents').where('address', '=', address).where('source_folder', '=', source).execute();
  }

  private pg: boolean | undefined;

  async setFlags(address: string, source: string, uid: number, flags: readonly string[]): Promise<void> {
    await this.db.updateTable('migration_messages').set({ flags: JSON.stringify(flags), updated_at: this.now() })
      .where('address', '=', address).where('source_folder', '=', source).where('source_uid', '=', uid).execute();
  }

  async removeMessages(address: string, source: string, uids: readonly number[]): Promise<void> {
    for (let i = 0; i < uids.length; i += 200) {
      await this.db.deleteFrom('migration_messages').where('address', '=', address).where('source_folder', '=', source)
        .where('source_uid', 'in', uids.slice(i, i + 200)).execute();
    }
  }

  async messages(address: string, source: string, state?: MessageState): Promise<MessageRow[]> {
    const d = this.sqlite();
    if (d) {
      return d.all<MessageRow>(`SELECT * ${BY_FOLDER}${state ? ' AND state = ?' : ''} ORDER BY source_uid`, state ? [address, source, state] : [address, source])
        .map(normMessage);
    }
    let q = this.db.selectFrom('migration_messages').selectAll().where('address', '=', address).where('source_folder', '=', source);
    if (state) q = q.where('state', '=', state);
    return (await q.orderBy('source_uid').execute()).map(normMessage);
  }

  async countMessages(address: string, source: string): Promise<number> {
    const d = this.sqlite();
    if (d) return num(d.all<{ n: number }>(`SELECT count(*) AS n ${BY_FOLDER}`, [address, source])[0]?.n);
    const r = await this.db.selectFrom('migration_messages').select((eb) => eb.fn.countAll().as('n'))
      .where('address', '=', address).where('source_folder', '=', source).executeTakeFirst();
    return num(r?.n);
  }

  /** Rows of the given source UIDs (in statements of 500, so a long list stays under the parameter limit). */
  async messagesByUids(address: string, source: string, uids: readonly number[]): Promise<MessageRow[]> {
    const out: MessageRow[] = [];
    for (let i = 0; i < uids.length; i += 500) {
      const d = this.sqlite();
      if (d) {
        const part = uids.slice(i, i + 500);
        for (const r of d.all<MessageRow>(`SELECT * ${BY_FOLDER} AND source_uid IN (${part.map(() => '?').join(', ')})`, [address, source, ...part])) out.push(normMessage(r));
        continue;
      }
      const rows = await this.db.selectFrom('migration_messages').selectAll().where('address', '=', address).where('source_folder', '=', source)
        .where('source_uid', 'in', uids.slice(i, i + 500)).execute();
      for (const r of rows) out.push(normMessage(r));
    }
    return out.sort((a, b) => a.source_uid - b.source_uid);
  }

  /** Up to `limit` rows of a folder with source UID above `afterUid`, ascending: the state read in pages. */
  async messagesPage(address: string, source: string, afterUid: number, limit: number): Promise<MessageRow[]> {
    return (await this.db.selectFrom('migration_messages').selectAll().where('address', '=', address).where('source_folder', '=', source)
      .where('source_uid', '>', afterUid).orderBy('source_uid').limit(limit).execute()).map(normMessage);
  }

  /** Target UIDs already taken, in every source folder of this user that maps to `target`. */
  async claimedTargetUids(address: string, target: string): Promise<Set<number>> {
    const rows = await this.db.selectFrom('migration_messages as m')
      .innerJoin('migration_folders as f', (j) => j.onRef('f.address', '=', 'm.address').onRef('f.source_folder', '=', 'm.source_folder'))
      .select('m.target_uid').where('m.address', '=', address).where('f.target_folder', '=', target)
      .where('m.target_uid', 'is not', null).execute();
    return new Set(rows.map((r) => num(r.target_uid)));
  }

  /** Target UIDs in [lo, hi] already taken in `target`: claimedTargetUids one window at a time. */
  async claimedTargetUidsIn(address: string, target: string, lo: number, hi: number): Promise<Set<number>> {
    const rows = await this.db.selectFrom('migration_messages as m')
      .innerJoin('migration_folders as f', (j) => j.onRef('f.address', '=', 'm.address').onRef('f.source_folder', '=', 'm.source_folder'))
      .select('m.target_uid').where('m.address', '=', address).where('f.target_folder', '=', target)
      .where('m.target_uid', '>=', lo).where('m.target_uid', '<=', hi).execute();
    return new Set(rows.map((r) => num(r.target_uid)));
  }

  async refusals(address: string): Promise<MessageRow[]> {
    return (await this.db.selectFrom('migration_messages').selectAll().where('address', '=', address)
      .where('state', '=', 'refused').orderBy('source_folder').orderBy('source_uid').execute()).map(normMessage);
  }

  async setUser(address: string, patch: Partial<Omit<UserRow, 'address' | 'updated_at'>> & { state: string }): Promise<void> {
    const now = this.now();
    await this.db.insertInto('migration_users').values({ address, ...patch, updated_at: now })
      .onConflict((oc) => oc.column('address').doUpdateSet({ ...patch, updated_at: now })).execute();
    // Keep the unified user record's migration_state in step when the directory knows the person.
    const unified = ['pending', 'copying', 'synced', 'verified', 'failed'].includes(patch.state);
    // A cut-over user stays 'cutover' through --keep-syncing and rollback copy passes: only the cutover changes it (issue 8).
    if (unified) await this.db.updateTable('users').set({ migration_state: patch.state }).where('address', '=', address).where('migration_state', '!=', 'cutover').execute();
  }

  async user(address: string): Promise<UserRow | undefined> {
    const r = await this.db.selectFrom('migration_users').selectAll().where('address', '=', address).executeTakeFirst();
    return r && { ...r, passes: num(r.passes) };
  }

  async users(): Promise<UserRow[]> {
    return (await this.db.selectFrom('migration_users').selectAll().orderBy('address').execute()).map((r) => ({ ...r, passes: num(r.passes) }));
  }
}
