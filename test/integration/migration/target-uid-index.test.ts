/**
 * Store migration 009: an index on migration_messages (address, source_folder,
 * target_uid), and the same on the copy-back table, on SQLite and on the lab's
 * PostgreSQL. The engine's query by target UID (MigrationState.claimedTargetUidsIn,
 * one per target window during a reconcile or crash recovery) is captured as
 * Kysely compiles it and explained: it reads through the new index, and its answer
 * is exactly the UIDs the state gives out in the range.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, createQueryId, sql, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { MigrationState } from '../../../src/migration/index.js';
import { LATEST_MIGRATION, openStore, type Store } from '../../../src/store/index.js';
import { freshDatabases } from '../store/pg.js';

const freshDatabase = await freshDatabases();

/** Records every query node a Kysely instance runs. */
function capture(): { plugin: KyselyPlugin; nodes: RootOperationNode[] } {
  const nodes: RootOperationNode[] = [];
  return {
    nodes,
    plugin: { transformQuery: (a) => { nodes.push(a.node); return a.node; }, transformResult: (a) => Promise.resolve(a.result) },
  };
}

const ADDRESS = 'idx@example.com';

/** Two source folders merged into INBOX (target UIDs interleaved), one elsewhere; 1,500 rows each. */
async function fill(state: MigrationState): Promise<Set<number>> {
  const inRange = new Set<number>();
  for (const [f, target, base] of [['INBOX', 'INBOX', 0], ['Posteingang', 'INBOX', 1], ['Archive', 'Archive', 0]] as const) {
    await state.saveFolder({ address: ADDRESS, source_folder: f, target_folder: target, uid_validity: 7, target_uid_validity: 9, highest_uid: 1500, highest_modseq: null });
    const rows = Array.from({ length: 1500 }, (_, i) => ({ uid: i + 1, state: 'done' as const, size: 100, targetUid: 2 * i + 1 + base }));
    await state.writeMessages(ADDRESS, f, rows);
    if (target === 'INBOX') for (const r of rows) if (r.targetUid >= 1000 && r.targetUid <= 1199) inRange.add(r.targetUid);
  }
  return inRange;
}

async function indexesOf(store: Store, dialect: 'sqlite' | 'postgres', table: string): Promise<string[]> {
  const q = dialect === 'sqlite'
    ? sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table}`
    : sql<{ name: string }>`select indexname as name from pg_indexes where tablename = ${table}`;
  return (await q.execute(store.db)).rows.map((r) => r.name);
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`store 009 (${dialect}): the query by target UID reads through (address, source_folder, target_uid)`, async (t) => {
    const store = await openStore(dialect === 'sqlite' ? { sqlite: join(mkdtempSync(join(tmpdir(), 'mb-idx-')), 'state.db') } : { postgres: await freshDatabase() });
    t.after(() => store.close());
    assert.equal(await store.migrationVersion(), LATEST_MIGRATION);
    for (const table of ['migration_messages', 'cutover_back_messages']) {
      assert.ok((await indexesOf(store, dialect, table)).includes(`${table}_target_uid`), `${table} has the index`);
    }
    const expected = await fill(new MigrationState(store.db));
    const cap = capture();
    const got = await new MigrationState(store.db.withPlugin(cap.plugin)).claimedTargetUidsIn(ADDRESS, 'INBOX', 1000, 1199);
    assert.deepEqual([...got].sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
    assert.equal(got.size, 200);
    assert.equal(cap.nodes.length, 1);
    const q = store.db.getExecutor().compileQuery(cap.nodes[0]!, createQueryId());
    let plan: string;
    if (dialect === 'sqlite') {
      await sql`analyze`.execute(store.db);
      const r = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]));
      plan = r.rows.map((x) => x.detail).join('\n');
    } else {
      // A few thousand rows: PostgreSQL would rightly scan them; with sequential scans off it shows which index fits.
      plan = await store.db.transaction().execute(async (tx) => {
        await sql`set local enable_seqscan = off`.execute(tx);
        await sql`analyze migration_messages`.execute(tx);
        const r = await tx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${q.sql}`, [...q.parameters]));
        return r.rows.map((x) => x['QUERY PLAN']).join('\n');
      });
    }
    t.diagnostic(plan);
    assert.match(plan, /migration_messages_target_uid/, `the plan uses the new index:\n${plan}`);
  });
}
