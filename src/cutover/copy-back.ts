/**
 * The copy back of a rollback: the migration engine run in the other
 * direction (new system -> old), on its own state tables (cutover_back_*,
 * through a table-renaming Kysely plugin), so the forward map, keyed by
 * address and source folder, is never touched by it.
 *
 * Before the pass the back map is seeded from the forward map (every message
 * the forward passes put into the new system is "already known"), so exactly
 * the messages that are NOT in the forward map are copied back: mail that
 * arrived in the new system since the cutover. After the pass each message
 * copied back is entered into the forward map (old UID -> its original in
 * the new system), so a later forward pass does not copy it again.
 */
import {
  IdentifierNode, OperationNodeTransformer, type Kysely, type KyselyPlugin, type PluginTransformQueryArgs,
  type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow,
} from 'kysely';
import type { Database } from '../store/index.js';

const BACK_TABLES: Readonly<Record<string, string>> = {
  migration_users: 'cutover_back_users',
  migration_folders: 'cutover_back_folders',
  migration_messages: 'cutover_back_messages',
  migration_intents: 'cutover_back_intents',
};

class RenameTables extends OperationNodeTransformer {
  protected override transformIdentifier(node: IdentifierNode): IdentifierNode {
    const n = super.transformIdentifier(node);
    const to = BACK_TABLES[n.name];
    return to ? IdentifierNode.create(to) : n;
  }
}

/** Kysely plugin: the migration engine's tables become the copy back's. */
export class BackStatePlugin implements KyselyPlugin {
  readonly #t = new RenameTables();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#t.transformNode(args.node);
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

export function backStateDb(db: Kysely<Database>): Kysely<Database> {
  return db.withPlugin(new BackStatePlugin());
}

const CHUNK = 200;
const num = (v: unknown): number => Number(v);

/** Seeds the back map from the forward map: new-system UIDs the forward passes wrote are known. Returns rows added. */
export async function seedBackState(db: Kysely<Database>, address: string, now: number): Promise<number> {
  const folders = await db.selectFrom('migration_folders').selectAll().where('address', '=', address).execute();
  let added = 0;
  for (const f of folders) {
    if (f.target_uid_validity === null) continue;
    const back = await db.selectFrom('cutover_back_folders').selectAll().where('address', '=', address).where('source_folder', '=', f.target_folder).executeTakeFirst();
    if (back && num(back.uid_validity) !== num(f.target_uid_validity)) continue; // the new folder was recreated: the engine reconciles by content
    if (!back) {
      await db.insertInto('cutover_back_folders').values({ address, source_folder: f.target_folder, target_folder: f.source_folder,
        uid_validity: num(f.target_uid_validity), target_uid_validity: num(f.uid_validity), highest_uid: 0, highest_modseq: null, updated_at: now })
        .onConflict((oc) => oc.columns(['address', 'source_folder']).doNothing()).execute();
    }
    const rows = await db.selectFrom('migration_messages').selectAll().where('address', '=', address).where('source_folder', '=', f.source_folder)
      .where('state', '=', 'done').where('target_uid', 'is not', null).execute();
    for (let i = 0; i < rows.length; i += CHUNK) {
      const values = rows.slice(i, i + CHUNK).map((r) => ({ address, source_folder: f.target_folder, source_uid: num(r.target_uid), target_uid: num(r.source_uid),
        state: 'done', size: num(r.size), sha256: r.sha256, content_key: r.content_key, flags: r.flags, detail: 'forward map', updated_at: now }));
      const res = await db.insertInto('cutover_back_messages').values(values)
        .onConflict((oc) => oc.columns(['address', 'source_folder', 'source_uid']).doNothing()).executeTakeFirst();
      added += Number(res.numInsertedOrUpdatedRows ?? 0n);
    }
  }
  return added;
}

/** Enters messages the copy back appended into the forward map; returns how many. */
export async function mirrorIntoForward(db: Kysely<Database>, address: string, now: number): Promise<number> {
  const backFolders = await db.selectFrom('cutover_back_folders').selectAll().where('address', '=', address).execute();
  let added = 0;
  for (const bf of backFolders) {
    const fwd = await db.selectFrom('migration_folders').select('uid_validity').where('address', '=', address).where('source_folder', '=', bf.target_folder).executeTakeFirst();
    // No forward state for that old folder (or it was recreated): a forward pass reconciles it by content.
    if (!fwd || bf.target_uid_validity === null || num(fwd.uid_validity) !== num(bf.target_uid_validity)) continue;
    const rows = await db.selectFrom('cutover_back_messages').selectAll().where('address', '=', address).where('source_folder', '=', bf.source_folder)
      .where('state', '=', 'done').where('target_uid', 'is not', null).where((eb) => eb.or([eb('detail', 'is', null), eb('detail', '!=', 'forward map')])).execute();
    for (let i = 0; i < rows.length; i += CHUNK) {
      const values = rows.slice(i, i + CHUNK).map((r) => ({ address, source_folder: bf.target_folder, source_uid: num(r.target_uid), target_uid: num(r.source_uid),
        state: 'done', size: num(r.size), sha256: r.sha256, content_key: r.content_key, flags: r.flags, detail: 'copied back by a rollback', updated_at: now }));
      const res = await db.insertInto('migration_messages').values(values)
        .onConflict((oc) => oc.columns(['address', 'source_folder', 'source_uid']).doNothing()).executeTakeFirst();
      added += Number(res.numInsertedOrUpdatedRows ?? 0n);
    }
  }
  return added;
}
