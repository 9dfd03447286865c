/**
 * One suite for both dialects: sqlite.test.ts and postgres.test.ts call
 * storeSuite with a function that returns options for a fresh, empty store.
 * Every test opens its own store, so tests share no rows.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MbError } from '../../../src/core/index.js';
import { MigrationState, type MessageWrite } from '../../../src/migration/state.js';
import { LATEST_MIGRATION, StoreErrors, openStore, type Store, type StoreOptions } from '../../../src/store/index.js';

export type MakeOptions = () => Promise<StoreOptions>;

/** A clock the test moves by hand, so written timestamps are known exactly. */
export function manualClock(start = 1_750_000_000_123): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

async function open(t: TestContext, opts: StoreOptions): Promise<Store> {
  const store = await openStore(opts);
  t.after(() => store.close());
  return store;
}

function isStoreError(code: string, retry?: 'transient' | 'permanent') {
  return (err: unknown): boolean => {
    assert.ok(MbError.is(err, code), `expected ${code}, got ${String(err)}`);
    if (retry) assert.equal(err.retry, retry);
    return true;
  };
}

const CHILD = fileURLToPath(new URL('./open-child.ts', import.meta.url));

function runChild(opts: StoreOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(opts)], (err, stdout, stderr) => {
      if (err) reject(new Error(`open-child failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

export function storeSuite(name: string, makeOptions: MakeOptions): void {
  describe(`store (${name})`, () => {
    test('migrations run on an empty store and are idempotent on re-open', async (t) => {
      const opts = await makeOptions();
      const first = await openStore(opts);
      assert.equal(await first.migrationVersion(), LATEST_MIGRATION);
      await first.users.upsert({ address: 'keep@example.com', homeSystem: 'legacy' });
      await first.close();
      await first.close(); // idempotent

      const again = await open(t, opts);
      assert.equal(await again.migrationVersion(), LATEST_MIGRATION);
      assert.equal((await again.users.get('keep@example.com'))?.homeSystem, 'legacy');
      const applied = await again.db
        .withTables<{ kysely_migration: { name: string } }>()
        .selectFrom('kysely_migration')
        .select('name')
        .execute();
      assert.equal(new Set(applied.map((r) => r.name)).size, applied.length, 'each migration recorded once');
      assert.ok(applied.some((r) => r.name === LATEST_MIGRATION));
    });

    test('users: upsert, get by address or alias, alias conflicts', async (t) => {
      const s = await open(t, await makeOptions());
      const r1 = await s.users.upsert({
        address: 'Alice@Example.com',
        homeSystem: 'legacy',
        displayName: 'Alice Smith',
        aliases: ['A.Smith@example.com', 'alice@example.com', 'sales@example.com', 'a.smith@example.com'],
      });
      assert.deepEqual(r1, { created: true, changed: true, aliasConflicts: [] });
      const alice = await s.users.get('alice@example.com');
      assert.equal(alice?.address, 'alice@example.com');
      assert.deepEqual(alice?.aliases, ['a.smith@example.com', 'sales@example.com']);
      assert.equal(alice?.migrationState, 'none');
      assert.equal((await s.users.get('A.SMITH@example.COM'))?.address, 'alice@example.com');
      assert.equal(await s.users.get('nobody@example.com'), null);

      assert.deepEqual(
        await s.users.upsert({ address: 'alice@example.com', homeSystem: 'legacy', displayName: 'Alice Smith' }),
        { created: false, changed: false, aliasConflicts: [] },
      );

      const r2 = await s.users.upsert({
        address: 'bob@example.com',
        homeSystem: 'cloud',
        aliases: ['sales@example.com', 'alice@example.com', 'bobby@example.com'],
      });
      assert.deepEqual(r2.aliasConflicts, [
        { alias: 'alice@example.com', owner: 'alice@example.com' },
        { alias: 'sales@example.com', owner: 'alice@example.com' },
      ]);
      assert.equal((await s.users.get('sales@example.com'))?.address, 'alice@example.com');
      assert.equal((await s.users.get('bobby@example.com'))?.address, 'bob@example.com');

      // Dropping an alias from the record drops it from the index.
      await s.users.upsert({ address: 'alice@example.com', homeSystem: 'legacy', aliases: ['a.smith@example.com'] });
      assert.equal(await s.users.get('sales@example.com'), null);

      // Fields left out of an upsert keep their stored value.
      await s.users.upsert({ address: 'alice@example.com', homeSystem: 'legacy', migrationState: 'copying' });
      await s.users.upsert({ address: 'alice@example.com', homeSystem: 'legacy', displayName: 'Alice S.' });
      const after = await s.users.get('alice@example.com');
      assert.equal(after?.migrationState, 'copying');
      assert.deepEqual(after?.aliases, ['a.smith@example.com']);
      assert.equal(after?.displayName, 'Alice S.');
    });

    test('users: upsertMany ends where upsert one by one ends (records, alias index, conflicts), keeps migration state', async (t) => {
      const one = await open(t, await makeOptions());
      const many = await open(t, await makeOptions());
      // 450 people (more than one statement's worth), a quarter with an alias; then a second
      // round that changes some, moves an alias between two of them and claims a primary as alias.
      const round1 = Array.from({ length: 450 }, (_, i) => ({
        address: `p${i}@example.com`, homeSystem: i % 2 ? 'cloud' : 'legacy', displayName: `P ${i}`,
        aliases: i % 4 === 0 ? [`alias${i}@example.com`] : [], attributes: { title: `T${i % 3}` }, sourceSystem: 'legacy', sourceId: `uid=p${i}`, contentHash: `h${i}`,
      }));
      const round2 = [
        { ...round1[4]!, aliases: [] },
        { ...round1[5]!, aliases: ['alias4@example.com', 'p7@example.com', 'new5@example.com'] },
        { ...round1[8]!, displayName: 'P eight', contentHash: 'h8b' },
        { ...round1[9]!, aliases: ['alias12@example.com'] },
      ];
      for (const r of round1) await one.users.upsert(r);
      await one.users.upsert({ address: 'p8@example.com', homeSystem: 'legacy', migrationState: 'copying' });
      const seq = [];
      for (const r of round2) seq.push(await one.users.upsert(r));
      const first = await many.users.upsertMany(round1);
      assert.equal(first.length, 450);
      assert.ok(first.every((r) => r.created && r.changed && r.aliasConflicts.length === 0));
      await many.users.upsert({ address: 'p8@example.com', homeSystem: 'legacy', migrationState: 'copying' });
      const bulk = await many.users.upsertMany(round2);
      assert.deepEqual(bulk, seq);
      assert.deepEqual(bulk[3]!.aliasConflicts, [{ alias: 'alias12@example.com', owner: 'p12@example.com' }]);
      assert.deepEqual(bulk[1]!.aliasConflicts, [{ alias: 'p7@example.com', owner: 'p7@example.com' }]);
      const strip = (u: Awaited<ReturnType<Store['users']['get']>>) => u && { ...u, firstSeen: 0, lastSeen: 0, updatedAt: 0 };
      for (const a of ['p4@example.com', 'p5@example.com', 'p8@example.com', 'alias4@example.com', 'new5@example.com', 'alias12@example.com', 'p449@example.com']) {
        assert.deepEqual(strip(await many.users.get(a)), strip(await one.users.get(a)), a);
      }
      assert.equal((await many.users.get('alias4@example.com'))?.address, 'p5@example.com', 'the alias moved with its owner');
      assert.equal((await many.users.get('p8@example.com'))?.migrationState, 'copying', 'a field left out keeps its value');
      assert.equal(await many.users.count(), 450);
      const index = async (s: Store) => (await s.db.selectFrom('user_aliases').selectAll().orderBy('alias').execute());
      assert.deepEqual(await index(many), await index(one));
    });

    test('users: list pages in address order, filter by home, count', async (t) => {
      const s = await open(t, await makeOptions());
      const all: string[] = [];
      for (let i = 0; i < 25; i++) {
        const address = `user${String(i).padStart(2, '0')}@example.com`;
        all.push(address);
        await s.users.upsert({ address, homeSystem: i % 5 === 0 ? 'legacy' : 'cloud' });
      }
      const pages: string[] = [];
      for (let offset = 0; offset < 30; offset += 10) {
        const page = await s.users.list({ limit: 10, offset });
        assert.ok(page.length <= 10);
        pages.push(...page.map((u) => u.address));
      }
      assert.deepEqual(pages, all);
      const legacy = await s.users.list({ homeSystem: 'legacy', limit: 100 });
      assert.deepEqual(legacy.map((u) => u.address), ['user00', 'user05', 'user10', 'user15', 'user20'].map((l) => `${l}@example.com`));
      assert.equal(await s.users.count(), 25);
      assert.equal(await s.users.count({ homeSystem: 'cloud' }), 20);
      assert.deepEqual(await s.users.list({ limit: 10, offset: 100 }), []);
      await assert.rejects(s.users.list({ limit: -1 }), isStoreError(StoreErrors.STORE_QUERY_FAILED));
    });

    test('users: setHome, and remove cascades to the alias index', async (t) => {
      const clock = manualClock();
      const s = await open(t, { ...(await makeOptions()), now: clock.now });
      await s.users.upsert({ address: 'carol@example.com', homeSystem: 'legacy', aliases: ['c@example.com', 'carol.x@example.com'] });
      clock.set(1_750_000_100_000);
      assert.equal(await s.users.setHome('Carol@example.com', 'cloud'), true);
      const carol = await s.users.get('c@example.com');
      assert.equal(carol?.homeSystem, 'cloud');
      assert.equal(carol?.updatedAt, 1_750_000_100_000);
      assert.equal(await s.users.setHome('nobody@example.com', 'cloud'), false);

      assert.equal(await s.users.remove('carol@example.com'), true);
      assert.equal(await s.users.get('carol@example.com'), null);
      assert.equal(await s.users.get('c@example.com'), null);
      const left = await s.db.selectFrom('user_aliases').selectAll().where('address', '=', 'carol@example.com').execute();
      assert.deepEqual(left, [], 'aliases removed by ON DELETE CASCADE');
      assert.equal(await s.users.remove('carol@example.com'), false);
    });

    test('JSON columns round-trip unicode', async (t) => {
      const s = await open(t, await makeOptions());
      const attributes = {
        title: 'Directrice générale',
        tags: ['ü', '日本語', 'عربى'],
        nested: { n: 1.5, b: true, nul: null, list: [1, 'two'] },
        emoji: '👩‍💻🏳️‍🌈',
        quote: 'it\'s "quoted" \\ back\nslash',
      };
      await s.users.upsert({
        address: 'ZOË@example.com',
        homeSystem: 'legacy',
        displayName: 'Zoë Ångström 张伟 👩‍💻',
        aliases: ['Zoë.Å@example.com'],
        attributes,
        sourceId: 'cn=Zoë Ångström,ou=people,dc=example,dc=com',
      });
      const z = await s.users.get('zoë.å@example.com');
      assert.equal(z?.address, 'zoë@example.com');
      assert.equal(z?.displayName, 'Zoë Ångström 张伟 👩‍💻');
      assert.deepEqual(z?.attributes, attributes);
      assert.deepEqual(z?.aliases, ['zoë.å@example.com']);
      assert.equal(z?.sourceId, 'cn=Zoë Ångström,ou=people,dc=example,dc=com');
      await s.audit.record({ actor: 'admin', action: 'note', target: 'zoë@example.com', details: attributes });
      assert.deepEqual((await s.audit.list({ limit: 1 }))[0]?.details, attributes);
    });

    test('timestamps come back as numbers equal to what was written', async (t) => {
      const clock = manualClock(1_750_000_000_001);
      const s = await open(t, { ...(await makeOptions()), now: clock.now });
      await s.users.upsert({ address: 'dave@example.com', homeSystem: 'legacy', contentHash: 'h1' });
      let d = await s.users.get('dave@example.com');
      assert.deepEqual([d?.firstSeen, d?.lastSeen, d?.updatedAt], [1_750_000_000_001, 1_750_000_000_001, 1_750_000_000_001]);
      assert.equal(typeof d?.firstSeen, 'number');

      clock.set(1_750_000_000_002); // seen again, unchanged
      await s.users.upsert({ address: 'dave@example.com', homeSystem: 'legacy', contentHash: 'h1' });
      d = await s.users.get('dave@example.com');
      assert.deepEqual([d?.firstSeen, d?.lastSeen, d?.updatedAt], [1_750_000_000_001, 1_750_000_000_002, 1_750_000_000_001]);

      clock.set(1_750_000_000_003); // changed
      await s.users.upsert({ address: 'dave@example.com', homeSystem: 'legacy', contentHash: 'h2' });
      d = await s.users.get('dave@example.com');
      assert.deepEqual([d?.firstSeen, d?.lastSeen, d?.updatedAt], [1_750_000_000_001, 1_750_000_000_003, 1_750_000_000_003]);

      // Far beyond 2^32 and 2^31 ms; still exact (year 2100, and near 2^53 - 1).
      for (const at of [4_102_444_800_000, Number.MAX_SAFE_INTEGER]) {
        const c = await s.checks.record({ system: 'legacy', endpoint: `imap-${at}`, ok: true, checkedAt: at });
        const back = await s.db.selectFrom('check_results').select('checked_at').where('id', '=', c.id).executeTakeFirstOrThrow();
        assert.equal(typeof back.checked_at, 'number');
        assert.equal(back.checked_at, at);
      }
      const raw = await s.db.selectFrom('users').select(['first_seen', 'last_seen']).executeTakeFirstOrThrow();
      assert.deepEqual(raw, { first_seen: 1_750_000_000_001, last_seen: 1_750_000_000_003 });
    });

    test('checks: booleans, and the newest result per system and endpoint', async (t) => {
      const s = await open(t, await makeOptions());
      const rec = (system: string, endpoint: string, ok: boolean, checkedAt: number, detail?: string) =>
        s.checks.record({ system, endpoint, ok, checkedAt, latencyMs: 12.6, ...(detail ? { detail } : {}) });
      const first = await rec('legacy', 'imap', true, 1000);
      assert.equal(first.ok, true);
      assert.equal(first.latencyMs, 13);
      await rec('legacy', 'imap', false, 3000, 'connection refused');
      await rec('legacy', 'imap', true, 2000);
      await rec('legacy', 'smtp', true, 1500);
      await rec('cloud', 'imap', false, 500, 'timeout');
      const latest = await s.checks.latest();
      assert.deepEqual(
        latest.map((c) => [c.system, c.endpoint, c.ok, c.checkedAt, c.detail]),
        [
          ['cloud', 'imap', false, 500, 'timeout'],
          ['legacy', 'imap', false, 3000, 'connection refused'],
          ['legacy', 'smtp', true, 1500, null],
        ],
      );
      for (const c of latest) assert.equal(typeof c.ok, 'boolean');
    });

    test('audit: record and list newest first', async (t) => {
      const s = await open(t, await makeOptions());
      await s.audit.record({ actor: 'admin', action: 'cutover', target: 'a@example.com', details: { wave: 1 }, at: 10 });
      await s.audit.record({ actor: 'admin', action: 'hold', target: 'b@example.com', at: 30 });
      const mid = await s.audit.record({ actor: 'cli', action: 'sync', at: 20 });
      assert.equal(mid.target, null);
      const all = await s.audit.list({ limit: 10 });
      assert.deepEqual(all.map((e) => [e.at, e.action]), [[30, 'hold'], [20, 'sync'], [10, 'cutover']]);
      assert.deepEqual(all[2]?.details, { wave: 1 });
      assert.deepEqual(all[0]?.details, {});
      assert.deepEqual((await s.audit.list({ limit: 1, offset: 1 })).map((e) => e.action), ['sync']);
    });

    test('runs: start, finish, latest', async (t) => {
      const clock = manualClock(5000);
      const s = await open(t, { ...(await makeOptions()), now: clock.now });
      assert.equal(await s.runs.latest('directory'), null);
      const r1 = await s.runs.start('directory');
      clock.set(6000);
      const r2 = await s.runs.start('directory');
      await s.runs.start('migration');
      assert.deepEqual(await s.runs.latest('directory'), {
        id: r2.id, kind: 'directory', startedAt: 6000, finishedAt: null, status: 'running', counts: {}, error: null,
      });
      clock.set(7000);
      const done = await s.runs.finish(r2.id, 'ok', { added: 3, changed: 1 });
      assert.deepEqual(done, {
        id: r2.id, kind: 'directory', startedAt: 6000, finishedAt: 7000, status: 'ok', counts: { added: 3, changed: 1 }, error: null,
      });
      const failed = await s.runs.finish(r1.id, 'failed', {}, 'LDAP down: ldap://127.0.0.1:3389');
      assert.equal(failed?.error, 'LDAP down: ldap://127.0.0.1:3389');
      assert.equal(failed?.status, 'failed');
      assert.equal(await s.runs.finish('no-such-run', 'ok', {}), null);
      assert.equal((await s.runs.latest('directory'))?.id, r2.id);
      assert.equal(await s.runs.latest('probe'), null);
    });

    test('transactions commit, and roll back when the callback throws', async (t) => {
      const s = await open(t, await makeOptions());
      const committed = await s.transaction(async (tx, repos) => {
        await repos.users.upsert({ address: 'erin@example.com', homeSystem: 'legacy', aliases: ['e@example.com'] });
        await repos.audit.record({ actor: 'test', action: 'create', target: 'erin@example.com' });
        return (await tx.selectFrom('users').select('address').execute()).length;
      });
      assert.equal(committed, 1);

      const boom = new Error('application failure');
      await assert.rejects(
        s.transaction(async (tx, repos) => {
          await repos.users.upsert({ address: 'frank@example.com', homeSystem: 'cloud', aliases: ['f@example.com'] });
          await repos.users.setHome('erin@example.com', 'cloud');
          await tx.deleteFrom('audit_log').execute();
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.equal(await s.users.get('frank@example.com'), null);
      assert.equal(await s.users.get('f@example.com'), null);
      assert.equal((await s.users.get('erin@example.com'))?.homeSystem, 'legacy');
      assert.equal((await s.audit.list({ limit: 10 })).length, 1);
      assert.equal(await s.users.count(), 1);
    });

    test('database failures are MbError STORE_QUERY_FAILED with the driver error as cause', async (t) => {
      const s = await open(t, await makeOptions());
      const row = { address: 'gina@example.com', home_system: 'legacy', first_seen: 1, last_seen: 1, updated_at: 1 };
      await s.db.insertInto('users').values(row).execute();
      await assert.rejects(s.db.insertInto('users').values(row).execute(), (err) => {
        assert.ok(MbError.is(err, StoreErrors.STORE_QUERY_FAILED));
        assert.equal(err.retry, 'permanent');
        assert.ok(err.cause instanceof Error);
        assert.match(String(err.details.dbCode), /^(SQLITE_CONSTRAINT|23505)/);
        return true;
      });
      // An alias pointing at no user violates the foreign key (SQLite enforces it only with foreign_keys=ON).
      await assert.rejects(
        s.db.insertInto('user_aliases').values({ alias: 'x@example.com', address: 'ghost@example.com' }).execute(),
        isStoreError(StoreErrors.STORE_QUERY_FAILED, 'permanent'),
      );
    });

    test('two stores opened at once on one fresh database both migrate', async (t) => {
      const opts = await makeOptions();
      const [a, b] = await Promise.all([openStore(opts), openStore(opts)]);
      t.after(async () => {
        await a.close();
        await b.close();
      });
      assert.equal(await a.migrationVersion(), LATEST_MIGRATION);
      assert.equal(await b.migrationVersion(), LATEST_MIGRATION);
      await a.users.upsert({ address: 'shared@example.com', homeSystem: 'cloud' });
      assert.equal((await b.users.get('shared@example.com'))?.homeSystem, 'cloud');
    });

    test('two processes opening one fresh database at once both migrate', async () => {
      const opts = await makeOptions();
      const versions = await Promise.all([runChild(opts), runChild(opts)]);
      assert.deepEqual(versions, [LATEST_MIGRATION, LATEST_MIGRATION]);
      const s = await openStore(opts);
      try {
        assert.equal(await s.users.count(), 2);
      } finally {
        await s.close();
      }
    });

    test('read-only opens read, refuse writes, and do not migrate', async (t) => {
      const opts = await makeOptions();
      await assert.rejects(openStore({ ...opts, readonly: true }), (err) => {
        assert.ok(MbError.is(err));
        assert.ok(
          err.code === StoreErrors.STORE_OPEN_FAILED || err.code === StoreErrors.STORE_MIGRATION_FAILED,
          `unmigrated read-only open: ${err.code}`,
        );
        return true;
      });
      const rw = await openStore(opts);
      await rw.users.upsert({ address: 'hank@example.com', homeSystem: 'legacy' });
      await rw.close();
      const ro = await open(t, { ...opts, readonly: true });
      assert.equal((await ro.users.get('hank@example.com'))?.homeSystem, 'legacy');
      await assert.rejects(
        ro.users.upsert({ address: 'ivy@example.com', homeSystem: 'legacy' }),
        isStoreError(StoreErrors.STORE_QUERY_FAILED, 'permanent'),
      );
    });

    test('a store migrated by a newer mailbridge is refused, not guessed at', async () => {
      const opts = await makeOptions();
      const s = await openStore(opts);
      await s.db
        .withTables<{ kysely_migration: { name: string; timestamp: string } }>()
        .insertInto('kysely_migration')
        .values({ name: '999-from-the-future', timestamp: new Date().toISOString() })
        .execute();
      await s.close();
      await assert.rejects(openStore(opts), (err) => {
        assert.ok(MbError.is(err, StoreErrors.STORE_MIGRATION_FAILED));
        assert.equal(err.retry, 'permanent');
        assert.match(err.message, /999-from-the-future/);
        return true;
      });
    });

    test('migration message map: bulk writes round-trip every column, upsert in place, over 1,000 rows', async (t) => {
      const store = await open(t, await makeOptions());
      const clock = manualClock();
      const state = new MigrationState(store.db, clock.now);
      const A = 'bulk@example.com';
      const rows: MessageWrite[] = Array.from({ length: 1234 }, (_, i) => ({ uid: i + 1, state: 'intent', size: 1000 + i, key: `k${i}` }));
      rows[0] = { uid: 1, state: 'refused', size: 7, detail: 'NO [TOOBIG] it\'s "too" big\\', flags: ['\\Seen', 'ünïcode'] };
      await state.writeMessages(A, 'INBOX', rows);
      assert.equal(await state.countMessages(A, 'INBOX'), 1234);
      // Results overwrite the intents in place (same key): state, target UID, hash, flags.
      clock.set(1_750_000_999_000);
      await state.writeMessages(A, 'INBOX', [{ uid: 2, state: 'done', size: 1001, targetUid: 2 ** 40, sha256: 'ab'.repeat(32), key: 'k1', flags: ['$Forwarded'] }]);
      const got = await state.messagesByUids(A, 'INBOX', [1, 2, 3]);
      const by = new Map(got.map((r) => [r.source_uid, r]));
      assert.equal(by.get(1)!.state, 'refused');
      assert.equal(by.get(1)!.detail, 'NO [TOOBIG] it\'s "too" big\\');
      assert.deepEqual(JSON.parse(by.get(1)!.flags), ['\\Seen', 'ünïcode']);
      assert.equal(by.get(1)!.target_uid, null);
      assert.equal(by.get(2)!.state, 'done');
      assert.equal(by.get(2)!.target_uid, 2 ** 40);
      assert.equal(by.get(2)!.sha256, 'ab'.repeat(32));
      assert.equal(Number(by.get(2)!.updated_at), 1_750_000_999_000);
      assert.equal(by.get(3)!.size, 1002);
      assert.equal(by.get(3)!.content_key, 'k2');
      assert.equal(by.get(3)!.sha256, null);
      assert.equal(Number(by.get(3)!.updated_at), 1_750_000_000_123);
      assert.equal(await state.countMessages(A, 'INBOX'), 1234);
      assert.equal(await state.countMessages(A, 'Sent'), 0);
    });
  });
}
