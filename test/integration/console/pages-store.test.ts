/**
 * The console's store queries (ConsoleRepo, migration 006-console) on both
 * dialects: SQLite in a file and the lab's PostgreSQL (a fresh database per
 * test). Same rows in, same answers out: LIKE with ESCAPE, integer-division
 * buckets, aggregates over BIGINT columns, sample upserts and pruning, and the
 * cutover tables read when present.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigrationState } from '../../../src/migration/index.js';
import { openStore, type Store, type StoreOptions } from '../../../src/store/index.js';
import { freshDatabases } from '../store/pg.js';

const freshDatabase = await freshDatabases();
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

async function seed(store: Store): Promise<void> {
  await store.users.upsert({ address: 'alice@example.com', displayName: 'Alice Archer', aliases: ['sales@example.com'], homeSystem: 'legacy' });
  await store.users.upsert({ address: 'carol_x@example.com', displayName: '100% Carol', homeSystem: 'cloud' });
  await store.users.upsert({ address: 'carolx@example.com', displayName: 'Carol X', homeSystem: 'cloud' });
  const s = new MigrationState(store.db, () => NOW - 30 * 60_000);
  await s.setUser('alice@example.com', { state: 'synced', passes: 2, finished_at: NOW, counts: '{"seen":3}' });
  await s.saveFolder({ address: 'alice@example.com', source_folder: 'INBOX', target_folder: 'INBOX', uid_validity: 4_000_000_000, target_uid_validity: 1, highest_uid: 3, highest_modseq: null });
  await s.writeMessages('alice@example.com', 'INBOX', [
    { uid: 1, state: 'done', size: 3_000_000_000, targetUid: 1 }, { uid: 2, state: 'done', size: 2000, targetUid: 2 },
    { uid: 3, state: 'refused', size: 10, detail: 'NO too big' },
  ]);
  await new MigrationState(store.db, () => NOW - 5 * 60_000).writeMessages('alice@example.com', 'INBOX', [{ uid: 4, state: 'done', size: 7, targetUid: 4 }]);
  await store.db.insertInto('gateway_tracking').values([
    { id: 'r1', at: NOW - 10_000, node: 'a', queue_id: 'q1', message_id: null, sender: '', recipient: null, event: 'received', destination: null, detail: null },
    { id: 'd1', at: NOW - 4000, node: 'a', queue_id: 'q1', message_id: null, sender: '', recipient: 'x@example.com', event: 'delivered', destination: 'system:legacy', detail: null },
    { id: 'd2', at: NOW - 1000, node: 'a', queue_id: 'q1', message_id: null, sender: '', recipient: 'y@example.com', event: 'delivered', destination: 'system:legacy', detail: null },
    // Same queue id at another node: not the same message.
    { id: 'r2', at: NOW - 50_000, node: 'b', queue_id: 'q1', message_id: null, sender: '', recipient: null, event: 'received', destination: null, detail: null },
  ]).execute();
}

function suite(name: string, open: () => Promise<StoreOptions>): void {
  describe(`console repo on ${name}`, () => {
    test('people, migration, throughput, latencies, samples, cutover', async (t) => {
      const store = await openStore(await open());
      t.after(() => store.close());
      await seed(store);
      const c = store.console;
      assert.deepEqual((await c.searchPeople({ q: 'carol_', limit: 10 })).people.map((p) => p.address), ['carol_x@example.com']);
      assert.deepEqual((await c.searchPeople({ q: '100%', limit: 10 })).people.map((p) => p.address), ['carol_x@example.com']);
      assert.deepEqual((await c.searchPeople({ q: 'SALES', limit: 10 })).people.map((p) => p.address), ['alice@example.com']);
      assert.deepEqual((await c.searchPeople({ q: 'archer', limit: 10 })).people.map((p) => p.address), ['alice@example.com']);
      const cloud = await c.searchPeople({ system: 'cloud', limit: 1, offset: 1 });
      assert.deepEqual([cloud.total, cloud.people.map((p) => p.address)], [2, ['carolx@example.com']]);

      const [u] = await c.migrationUsers('alice@example.com');
      assert.deepEqual([u!.passes, u!.messages, u!.copiedBytes, u!.counts], [2, { done: 3, refused: 1 }, 3_000_002_007, { seen: 3 }]);
      const [f] = await c.migrationFolders('alice@example.com');
      assert.deepEqual([f!.uidValidity, f!.messages], [4_000_000_000, { done: 3, refused: 1 }]);
      assert.deepEqual((await c.migrationRefusals('alice@example.com')).map((r) => [r.uid, r.reason]), [[3, 'NO too big']]);
      const tp = await c.throughput({ since: NOW - 3_600_000, bucketMs: 600_000 });
      assert.deepEqual(tp, [
        { at: Math.floor((NOW - 30 * 60_000) / 600_000) * 600_000, messages: 2, bytes: 3_000_002_000 },
        { at: Math.floor((NOW - 5 * 60_000) / 600_000) * 600_000, messages: 1, bytes: 7 },
      ]);
      assert.deepEqual(await c.copiedBetween(NOW - 6 * 60_000, NOW), { messages: 1, bytes: 7 });
      assert.deepEqual((await c.deliveryLatencies(NOW - 60_000, NOW)).sort((a, b) => a.ms - b.ms), [{ at: NOW - 4000, ms: 6000 }, { at: NOW - 1000, ms: 9000 }]);

      await c.recordSamples([{ series: 'queue.depth', label: 'external', at: NOW, value: 1 }, { series: 'delivery.latency.p50', at: NOW, value: 12.5 }]);
      await c.recordSamples([{ series: 'queue.depth', label: 'external', at: NOW, value: 3 }]);
      await c.recordSamples([{ series: 'queue.depth', label: 'external', at: NOW - 50 * 3_600_000, value: 2 }]);
      assert.deepEqual(await c.samples({ series: ['queue.depth', 'delivery.latency.p50'], since: NOW - 3_600_000 }), [
        { series: 'delivery.latency.p50', label: '', points: [[NOW, 12.5]] },
        { series: 'queue.depth', label: 'external', points: [[NOW, 3]] },
      ]);
      assert.equal(await c.pruneSamples(NOW - 48 * 3_600_000), 1);

      assert.equal(await c.cutoverOf('alice@example.com'), null);
      await store.db.insertInto('cutover_records' as never).values({ id: 'c1', address: 'alice@example.com', kind: 'cutover', status: 'done', started_at: NOW, details: '{}' } as never).execute();
      const co = await c.cutoverOf('alice@example.com');
      assert.deepEqual(co?.records.map((r) => [r.kind, Number(r.startedAt)]), [['cutover', NOW]]);
    });
  });
}

suite('sqlite', async () => ({ sqlite: join(mkdtempSync(join(tmpdir(), 'mb-pages-')), 'mb.db') }));
suite('postgres', async () => ({ postgres: await freshDatabase() }));
