/**
 * The console's Directory, Migration, Free/busy and Charts API through
 * fastify's inject, over a real in-memory SQLite store filled the way the
 * subsystems fill it (users repo, directory tables, the migration engine's
 * state class, tracking rows); free/busy through the real broker with an
 * in-process source (a unit test: no CalDAV server here; the integration test
 * uses Radicale). Every route refuses without a session; bad parameters are 400
 * with a message naming them; results are checked on the seeded data.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FreeBusyBroker, type FreeBusySource } from '../calendar/index.js';
import { hashPassword } from '../core/index.js';
import { showRecord, type DirectorySettings } from '../directory/index.js';
import { MigrationState } from '../migration/index.js';
import { createMetrics, silentLogger } from '../observe/index.js';
import { openStore, type Store } from '../store/index.js';
import { chartsArea, ConsoleSampler, quantile } from './console-charts.js';
import { directoryArea } from './console-directory.js';
import { dayWindow, freeBusyArea } from './console-freebusy.js';
import { migrationArea } from './console-migration.js';
import { createWebServer } from './server.js';

const PASSWORD = 'pages test password';
const DAY = 86_400_000;
let hash: string;
before(async () => { hash = await hashPassword(PASSWORD); });

interface Lab { app: ReturnType<typeof createWebServer>; store: Store; now: number; cookie: string; fetched: { address: string; start: Date; end: Date }[] }

const settings = { systems: { legacy: {}, cloud: {} }, directory: {}, migration: { from: 'legacy', to: 'cloud' } } as unknown as DirectorySettings;

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<Lab> {
  const store = await openStore({ sqlite: ':memory:' });
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);
  const fetched: Lab['fetched'] = [];
  const source: FreeBusySource = {
    kind: 'caldav', system: 'cloud',
    async fetchBusy(person, window) {
      fetched.push({ address: person.address, start: window.start, end: window.end });
      return { method: 'calendar-query', skipped: [], truncated: [], periods: [
        { start: new Date(Date.UTC(2026, 10, 22, 23)), end: new Date(Date.UTC(2026, 10, 23, 1)), type: 'BUSY-TENTATIVE' as const },
        { start: new Date(Date.UTC(2026, 10, 23, 9)), end: new Date(Date.UTC(2026, 10, 23, 10, 30)), type: 'BUSY' as const },
      ].map((p) => ({ ...p, start: p.start < window.start ? window.start : p.start, end: p.end > window.end ? window.end : p.end })).filter((p) => p.end > window.start && p.start < window.end) };
    },
  };
  const broker = new FreeBusyBroker({
    resolver: { resolve: (a) => (a.endsWith('@example.com') && !a.startsWith('nobody')
      ? { kind: 'system', system: 'cloud', person: { address: a, local: a.split('@')[0]!, domain: 'example.com' }, via: 'users' }
      : { kind: 'unknown', reason: 'no system claims it' }) },
    sources: new Map([['cloud', source]]), timeout: 2000, cacheTtl: 0, log: silentLogger(),
    windowBack: DAY, windowForward: 30 * DAY, maxWindow: 62 * DAY, now: () => now,
  });
  const c = store.console;
  const app = createWebServer({
    log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [],
    console: {
      organization: 'Example', users: [{ name: 'admin', passwordHash: hash }], checks: store.checks, audit: store.audit,
      staleAfterMs: 60_000,
      areas: [
        directoryArea({ systems: ['legacy', 'cloud'], people: (q) => c.searchPeople(q), show: (a) => showRecord(store, a, settings), conflicts: () => c.conflicts(), runs: (o) => c.runs(o) }),
        migrationArea({ users: (a) => c.migrationUsers(a), folders: (a) => c.migrationFolders(a), refusals: (a) => c.migrationRefusals(a), throughput: (o) => c.throughput(o), cutover: (a) => c.cutoverOf(a), lastVerify: (a) => store.audit.latest('migration.verify', a), from: 'legacy', to: 'cloud', now: () => now }),
        freeBusyArea({ broker }),
        chartsArea({ samples: (o) => c.samples(o), now: () => now }),
      ],
    },
  });
  t.after(async () => { await app.close(); broker.close(); await store.close(); });
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { name: 'admin', password: PASSWORD } });
  assert.equal(res.statusCode, 200);
  return { app, store, now, fetched, cookie: String(res.headers['set-cookie']).split(';')[0]! };
}

async function get(lab: Lab, url: string): Promise<{ status: number; body: Record<string, unknown> & { error?: string } }> {
  const res = await lab.app.inject({ url, headers: { cookie: lab.cookie } });
  return { status: res.statusCode, body: res.json() };
}

async function seedDirectory(store: Store): Promise<void> {
  await store.users.upsert({ address: 'alice@example.com', displayName: 'Alice Archer', aliases: ['sales@example.com', 'a.archer@example.com'], homeSystem: 'legacy', sourceSystem: 'legacy', sourceId: 'uid=alice,ou=legacy' });
  await store.users.upsert({ address: 'bob@example.com', displayName: 'Bob Builder', homeSystem: 'cloud', sourceSystem: 'cloud', sourceId: 'bob@example.com' });
  await store.users.upsert({ address: 'carol_x@example.com', displayName: '100% Carol', homeSystem: 'cloud' });
  await store.users.upsert({ address: 'carolx@example.com', displayName: 'Carol X', homeSystem: 'cloud' });
  await store.db.insertInto('directory_entries').values({
    system: 'legacy', source_id: 'uid=alice,ou=legacy', address: 'alice@example.com', aliases: '["sales@example.com"]', display_name: 'Alice Archer',
    attributes: '{}', origins: JSON.stringify({ dn: 'uid=alice,ou=legacy,dc=example,dc=com', displayName: 'cn', aliases: 'mailLocalAddress' }), content_hash: 'h1', change_mark: null, first_seen: 1, last_seen: 2,
  }).execute();
  await store.db.insertInto('directory_conflicts').values({
    key: 'alias|sales@example.com|cloud', kind: 'alias-taken', address: 'sales@example.com', systems: '["legacy","cloud"]', winner: 'legacy', detail: 'sales@example.com claimed by two people', first_seen: 5, last_seen: 6,
  }).execute();
  const r1 = await store.runs.start('directory');
  await store.runs.finish(r1.id, 'ok', { added: 4 });
  const r2 = await store.runs.start('directory');
  await store.runs.finish(r2.id, 'failed', {}, 'legacy: LDAP unreachable');
  await store.runs.start('migration');
}

async function seedMigration(store: Store, now: number): Promise<void> {
  const s = new MigrationState(store.db, () => now - 30 * 60_000);
  await s.setUser('alice@example.com', { state: 'copying', passes: 1, started_at: now - 3_600_000 });
  await s.saveFolder({ address: 'alice@example.com', source_folder: 'INBOX', target_folder: 'INBOX', uid_validity: 7, target_uid_validity: 9, highest_uid: 3, highest_modseq: null });
  await s.saveFolder({ address: 'alice@example.com', source_folder: 'Sent', target_folder: 'Sent', uid_validity: 8, target_uid_validity: 10, highest_uid: 1, highest_modseq: null });
  await s.writeMessages('alice@example.com', 'INBOX', [
    { uid: 1, state: 'done', size: 1000, targetUid: 1 }, { uid: 2, state: 'done', size: 2000, targetUid: 2 },
    { uid: 3, state: 'refused', size: 90_000_000, detail: 'NO [LIMIT] Message too large' },
  ]);
  // A later bucket: one message ten minutes before now.
  await new MigrationState(store.db, () => now - 10 * 60_000).writeMessages('alice@example.com', 'Sent', [{ uid: 1, state: 'done', size: 500, targetUid: 1 }]);
  await s.setUser('alice@example.com', { state: 'synced', finished_at: now - 5 * 60_000, counts: JSON.stringify({ seen: 4, appended: 3, appendedBytes: 3500, refused: 1 }), error: '1 message(s) refused by the target' });
  await s.setUser('bob@example.com', { state: 'pending' });
}

describe('without a session', () => {
  test('every new route answers 401', async (t) => {
    const lab = await setup(t);
    for (const url of ['/api/directory/people?q=a', '/api/directory/people/alice@example.com', '/api/directory/conflicts', '/api/directory/runs',
      '/api/migration/users', '/api/migration/users/alice@example.com', '/api/migration/throughput', '/api/freebusy/alice@example.com?day=2026-11-23', '/api/charts']) {
      const res = await lab.app.inject({ url });
      assert.equal(res.statusCode, 401, url);
      assert.deepEqual(res.json(), { error: 'login required' }, url);
    }
    assert.equal(lab.fetched.length, 0, 'no free/busy lookup without a session');
  });
});

describe('bad parameters', () => {
  test('400 with a message naming the parameter', async (t) => {
    const lab = await setup(t);
    const cases: [string, RegExp][] = [
      ['/api/directory/people?limit=0', /^limit: 0 is out of range \(1 to 200\)$/],
      ['/api/directory/people?limit=abc', /^limit: "abc" is not a whole number/],
      ['/api/directory/people?offset=-1', /^offset: "-1" is not a whole number/],
      ['/api/directory/people?system=mars', /^system: "mars" is not one of legacy, cloud$/],
      ['/api/directory/people?colour=red', /^unknown parameter colour/],
      ['/api/directory/people?q=a&q=b', /^q: given more than once$/],
      [`/api/directory/people?q=${'x'.repeat(201)}`, /^q: at most 200 characters$/],
      ['/api/directory/people/not-an-address', /^address: "not-an-address" is not an email address$/],
      ['/api/directory/runs?limit=1000', /^limit: 1000 is out of range/],
      ['/api/migration/users/a%20b@example.com', /is not an email address/],
      ['/api/migration/throughput?bucket=1s', /^bucket: between 1m and 1d$/],
      ['/api/migration/throughput?since=yesterday', /^since: "yesterday" is not a time/],
      ['/api/migration/throughput?since=0&bucket=1m', /more than 2000 buckets/],
      ['/api/freebusy/alice@example.com', /^day: required \(YYYY-MM-DD\)$/],
      ['/api/freebusy/alice@example.com?day=2026-02-30', /^day: 2026-02-30 is not a calendar date$/],
      ['/api/freebusy/alice@example.com?day=23.11.2026', /^day: "23.11.2026" is not a date \(YYYY-MM-DD\)$/],
      ['/api/freebusy/alice@example.com?day=2026-11-23&tz=Mars/Olympus', /^tz: "Mars\/Olympus" is not a known time zone/],
      ['/api/freebusy/nope?day=2026-11-23', /is not an email address/],
      ['/api/charts?series=queue.depth,cpu', /^series: unknown "cpu" \(known: queue.depth, /],
      ['/api/charts?since=2099-01-01T00:00:00Z', /^since: in the future$/],
    ];
    for (const [url, re] of cases) {
      const r = await get(lab, url);
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.body.error), re, url);
    }
    assert.equal(lab.fetched.length, 0, 'no lookup for a bad request');
  });
});

describe('directory', () => {
  test('search by address, alias and name; LIKE wildcards are literal; filter and pages', async (t) => {
    const lab = await setup(t);
    await seedDirectory(lab.store);
    const find = async (qs: string) => (await get(lab, `/api/directory/people${qs}`)).body as unknown as { total: number; people: { address: string }[]; systems: string[] };
    assert.deepEqual((await find('?q=ALICE')).people.map((p) => p.address), ['alice@example.com']);
    assert.deepEqual((await find('?q=sales@')).people.map((p) => p.address), ['alice@example.com'], 'by alias');
    assert.deepEqual((await find('?q=builder')).people.map((p) => p.address), ['bob@example.com'], 'by name, any case');
    assert.deepEqual((await find('?q=carol_')).people.map((p) => p.address), ['carol_x@example.com'], '_ is not a wildcard');
    assert.deepEqual((await find('?q=100%25')).people.map((p) => p.address), ['carol_x@example.com'], '% is not a wildcard');
    const cloud = await find('?system=cloud');
    assert.equal(cloud.total, 3);
    assert.deepEqual(cloud.systems, ['legacy', 'cloud']);
    const page = await find('?limit=2&offset=1');
    assert.equal(page.total, 4);
    assert.deepEqual(page.people.map((p) => p.address), ['bob@example.com', 'carol_x@example.com']);
    assert.equal((await find('?q=zzz')).total, 0);
  });

  test('a record: values with their origins, routing, conflicts; by alias too; 404 for nobody', async (t) => {
    const lab = await setup(t);
    await seedDirectory(lab.store);
    const r = await get(lab, '/api/directory/people/ALICE@example.com');
    assert.equal(r.status, 200);
    const b = r.body as unknown as { record: { displayName: string; homeSystem: string }; sources: { system: string; origins: Record<string, string> }[]; routing: { system: string; reason: string } };
    assert.equal(b.record.displayName, 'Alice Archer');
    assert.equal(b.sources[0]!.origins.displayName, 'cn');
    assert.equal(b.routing.system, 'legacy');
    const viaAlias = (await get(lab, '/api/directory/people/sales@example.com')).body as unknown as { record: { address: string }; routing: { reason: string }; conflicts: { kind: string }[] };
    assert.equal(viaAlias.record.address, 'alice@example.com');
    assert.match(viaAlias.routing.reason, /sales@example.com is an alias of alice@example.com/);
    assert.deepEqual(viaAlias.conflicts.map((c) => c.kind), ['alias-taken']);
    const nobody = await get(lab, '/api/directory/people/nobody@example.com');
    assert.equal(nobody.status, 404);
    assert.equal(nobody.body.error, 'nobody@example.com is not in the directory');
  });

  test('conflicts and the last directory runs, newest first', async (t) => {
    const lab = await setup(t);
    await seedDirectory(lab.store);
    const c = (await get(lab, '/api/directory/conflicts')).body as unknown as { conflicts: { address: string; systems: string[]; winner: string }[] };
    assert.deepEqual(c.conflicts.map((x) => [x.address, x.systems, x.winner]), [['sales@example.com', ['legacy', 'cloud'], 'legacy']]);
    const runs = (await get(lab, '/api/directory/runs')).body as unknown as { runs: { kind: string; status: string; error: string | null; counts: Record<string, number> }[] };
    assert.deepEqual(runs.runs.map((x) => [x.kind, x.status, x.error]), [['directory', 'failed', 'legacy: LDAP unreachable'], ['directory', 'ok', null]]);
    assert.deepEqual(runs.runs[1]!.counts, { added: 4 });
    const one = (await get(lab, '/api/directory/runs?limit=1&kind=migration')).body as unknown as { runs: { kind: string; status: string }[] };
    assert.deepEqual(one.runs.map((x) => [x.kind, x.status]), [['migration', 'running']]);
  });
});

describe('migration', () => {
  test('users with progress and totals; detail with folders, refusals, verify; throughput buckets', async (t) => {
    const lab = await setup(t);
    await seedMigration(lab.store, lab.now);
    const list = (await get(lab, '/api/migration/users')).body as unknown as {
      from: string; totals: { users: number; byState: Record<string, number>; copied: number; copiedBytes: number; refused: number };
      users: { address: string; state: string; progress: number | null; copied: number; refused: number; error: string | null; lastPass: number | null }[];
    };
    assert.equal(list.from, 'legacy');
    assert.deepEqual(list.totals, { users: 2, byState: { synced: 1, pending: 1 }, copied: 3, copiedBytes: 3500, refused: 1 });
    const alice = list.users.find((u) => u.address === 'alice@example.com')!;
    assert.deepEqual([alice.state, alice.progress, alice.copied, alice.refused, alice.lastPass], ['synced', 1, 3, 1, lab.now - 5 * 60_000]);
    assert.equal(alice.error, '1 message(s) refused by the target');
    assert.equal(list.users.find((u) => u.address === 'bob@example.com')!.progress, 0);

    const d = await get(lab, '/api/migration/users/alice@example.com');
    assert.equal(d.status, 200);
    const detail = d.body as unknown as { folders: { sourceFolder: string; highestUid: number; messages: Record<string, number> }[]; refusals: { folder: string; uid: number; reason: string }[]; verify: { ok: boolean | null }; cutover: unknown };
    assert.deepEqual(detail.folders.map((f) => [f.sourceFolder, f.highestUid, f.messages]), [['INBOX', 3, { done: 2, refused: 1 }], ['Sent', 1, { done: 1 }]]);
    assert.deepEqual(detail.refusals.map((r) => [r.folder, r.uid, r.reason]), [['INBOX', 3, 'NO [LIMIT] Message too large']]);
    assert.equal(detail.verify.ok, null, 'synced, not verified');
    assert.equal(detail.cutover, null);
    // A differing `migrate verify` is recorded (audit) and shown with its first differences.
    await lab.store.audit.record({ actor: 'cli', action: 'migration.verify', target: 'alice@example.com', at: lab.now - 1000, details: { ok: false, differences: 1, first: [{ kind: 'missing', folder: 'INBOX', sourceUid: 2, detail: 'not on the target' }] } });
    const failed = (await get(lab, '/api/migration/users/alice@example.com')).body as unknown as { verify: { ok: boolean | null; at: number; note: string } };
    assert.deepEqual([failed.verify.ok, failed.verify.at, failed.verify.note], [false, lab.now - 1000, '1 difference(s)']);
    const missing = await get(lab, '/api/migration/users/carol@example.com');
    assert.equal(missing.status, 404);
    assert.match(String(missing.body.error), /carol@example.com has not been migrated/);

    const tp = (await get(lab, `/api/migration/throughput?bucket=15m&since=${lab.now - 3_600_000}`)).body as unknown as { bucketMs: number; points: { at: number; messages: number; bytes: number }[] };
    assert.equal(tp.bucketMs, 15 * 60_000);
    const b = (t0: number) => Math.floor(t0 / tp.bucketMs) * tp.bucketMs;
    assert.deepEqual(tp.points, [{ at: b(lab.now - 30 * 60_000), messages: 2, bytes: 3000 }, { at: b(lab.now - 10 * 60_000), messages: 1, bytes: 500 }]);
    const recent = (await get(lab, `/api/migration/throughput?since=${lab.now - 15 * 60_000}`)).body as unknown as { points: { messages: number }[] };
    assert.deepEqual(recent.points.map((p) => p.messages), [1]);
  });

  test('verified state and a cutover record show up', async (t) => {
    const lab = await setup(t);
    await seedMigration(lab.store, lab.now);
    await new MigrationState(lab.store.db).setUser('alice@example.com', { state: 'verified' });
    await lab.store.db.insertInto('cutover_records' as never).values({ id: 'c1', address: 'alice@example.com', kind: 'cutover', status: 'done', started_at: lab.now - 1000, finished_at: lab.now, details: '{}' } as never).execute();
    const d = (await get(lab, '/api/migration/users/alice@example.com')).body as unknown as { verify: { ok: boolean }; cutover: { records: { kind: string; status: string; startedAt: number }[] } };
    assert.equal(d.verify.ok, true);
    assert.deepEqual(d.cutover.records.map((r) => [r.kind, r.status, r.startedAt]), [['cutover', 'done', lab.now - 1000]]);
  });
});

describe('free/busy', () => {
  test('a day in the viewer\'s zone: the window asked of the source and the busy blocks in it', async (t) => {
    const lab = await setup(t);
    const r = await get(lab, '/api/freebusy/Alice@example.com?day=2026-11-23&tz=Europe/Berlin');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.start, '2026-11-22T23:00:00.000Z', 'midnight in Berlin (UTC+1 in November)');
    assert.equal(r.body.end, '2026-11-23T23:00:00.000Z');
    assert.equal(r.body.status, 'ok');
    assert.deepEqual(r.body.busy, [
      { start: '2026-11-22T23:00:00.000Z', end: '2026-11-23T01:00:00.000Z', type: 'BUSY-TENTATIVE' },
      { start: '2026-11-23T09:00:00.000Z', end: '2026-11-23T10:30:00.000Z', type: 'BUSY' },
    ]);
    assert.deepEqual(lab.fetched.map((f) => [f.address, f.start.toISOString()]), [['alice@example.com', '2026-11-22T23:00:00.000Z']]);
    const utc = await get(lab, '/api/freebusy/alice@example.com?day=2026-11-23');
    assert.deepEqual((utc.body.busy as { type: string }[]).map((b) => b.type), ['BUSY-TENTATIVE', 'BUSY'], 'UTC day: the tentative block clipped to 00:00-01:00');
    assert.equal((utc.body.busy as { start: string }[])[0]!.start, '2026-11-23T00:00:00.000Z');
    const unknown = await get(lab, '/api/freebusy/nobody@example.com?day=2026-11-23');
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body.status, 'unknown');
  });

  test('dayWindow: a DST day has 23 hours', () => {
    const w = dayWindow('2026-03-29', 'Europe/Berlin');
    assert.ok(typeof w !== 'string');
    assert.equal(w.end.getTime() - w.start.getTime(), 23 * 3_600_000);
  });
});

describe('charts', () => {
  test('the sampler records queue depth, latency quantiles and migration copies; /api/charts reads them back', async (t) => {
    const lab = await setup(t);
    await seedMigration(lab.store, lab.now);
    const minute = Math.floor(lab.now / 60_000) * 60_000;
    // Three deliveries in the minute before `minute`: 1 s, 2 s and 30 s after their message was received.
    const rows = [['q1', 1000], ['q2', 2000], ['q3', 30_000]] as const;
    let n = 0;
    for (const [q, lat] of rows) {
      const at = minute - 30_000;
      await lab.store.db.insertInto('gateway_tracking').values([
        { id: `r${n}`, at: at - lat, node: 'gw1', queue_id: q, message_id: null, sender: 's@example.net', recipient: null, event: 'received', destination: null, detail: null },
        { id: `d${n++}`, at, node: 'gw1', queue_id: q, message_id: null, sender: 's@example.net', recipient: 'alice@example.com', event: 'delivered', destination: 'system:legacy', detail: null },
      ]).execute();
    }
    // One delivered earlier: outside the minute.
    await lab.store.db.insertInto('gateway_tracking').values([
      { id: 'old-r', at: minute - 125_000, node: 'gw1', queue_id: 'q0', message_id: null, sender: '', recipient: null, event: 'received', destination: null, detail: null },
      { id: 'old-d', at: minute - 120_000, node: 'gw1', queue_id: 'q0', message_id: null, sender: '', recipient: 'x@example.com', event: 'delivered', destination: null, detail: null },
    ]).execute();
    const sampler = new ConsoleSampler({ store: lab.store.console, log: silentLogger(), queueDepth: () => ({ 'system:legacy': 4, external: 1 }), now: () => lab.now });
    const wrote = await sampler.sampleOnce(minute);
    assert.deepEqual(wrote.map((s) => [s.series, s.label ?? '', s.value]), [
      ['queue.depth', 'system:legacy', 4], ['queue.depth', 'external', 1],
      ['delivery.latency.p50', '', 2000], ['delivery.latency.p95', '', 30_000],
      ['migration.messages', '', 0], ['migration.bytes', '', 0],
    ]);
    // Ten minutes earlier the Sent message was copied.
    const earlierMinute = Math.floor((lab.now - 10 * 60_000) / 60_000) * 60_000 + 60_000;
    const earlier = await sampler.sampleOnce(earlierMinute);
    assert.deepEqual(earlier.filter((s) => s.series.startsWith('migration')).map((s) => s.value), [1, 500]);
    assert.equal(earlier.some((s) => s.series.startsWith('delivery')), false, 'no deliveries: no latency point');

    const all = (await get(lab, '/api/charts')).body as unknown as { series: { series: string; label: string; points: [number, number][] }[] };
    const byName = Object.fromEntries(all.series.map((s) => [`${s.series}${s.label ? `|${s.label}` : ''}`, s.points]));
    assert.deepEqual(byName['queue.depth|system:legacy'], [[earlierMinute, 4], [minute, 4]], 'oldest first');
    assert.deepEqual(byName['delivery.latency.p95'], [[minute, 30_000]]);
    assert.equal(byName['migration.messages']!.length, 2);
    // Two gateway nodes sharing the store: each writes its own depth; the chart shows the sum per destination.
    const other = new ConsoleSampler({ store: lab.store.console, log: silentLogger(), node: 'gw2', queueDepth: () => ({ 'system:legacy': 2 }) });
    const mine = new ConsoleSampler({ store: lab.store.console, log: silentLogger(), node: 'gw1', queueDepth: () => ({ 'system:legacy': 5 }) });
    await other.sampleOnce(minute + 60_000);
    await mine.sampleOnce(minute + 60_000);
    const summed = (await get(lab, '/api/charts?series=queue.depth')).body as unknown as { series: { label: string; points: [number, number][] }[] };
    assert.deepEqual(summed.series.map((s) => [s.label, s.points.filter((p) => p[0] === minute + 60_000)]), [['external', []], ['system:legacy', [[minute + 60_000, 7]]]]);
    await lab.store.db.deleteFrom('console_samples').where('at', '=', minute + 60_000).execute();
    const only = (await get(lab, '/api/charts?series=delivery.latency.p50')).body as unknown as { series: { series: string }[] };
    assert.deepEqual(only.series.map((s) => s.series), ['delivery.latency.p50']);
    const later = (await get(lab, `/api/charts?since=${minute}`)).body as unknown as { series: { points: [number, number][] }[] };
    assert.ok(later.series.length > 0);
    assert.deepEqual([...new Set(later.series.flatMap((s) => s.points.map((p) => p[0])))], [minute], 'since cuts off the earlier minute');
    // After a restart the history-derived series are rebuilt: the same values as sampled, from the store.
    await lab.store.db.deleteFrom('console_samples').execute();
    const rebuilt = await sampler.backfill(minute);
    const again = (await get(lab, '/api/charts')).body as unknown as { series: { series: string; label: string; points: [number, number][] }[] };
    const re = Object.fromEntries(again.series.map((s) => [s.series, s.points]));
    assert.deepEqual(re['delivery.latency.p95'], [[minute - 60_000, 5000], [minute, 30_000]], 'the earlier delivery is in its own minute');
    assert.deepEqual(re['delivery.latency.p50'], [[minute - 60_000, 5000], [minute, 2000]]);
    assert.deepEqual(re['migration.messages'], [[minute - 30 * 60_000 + 60_000, 2], [earlierMinute, 1]], 'only minutes with copies');
    assert.equal(re['queue.depth'], undefined, 'queue depth cannot be rebuilt');
    assert.equal(rebuilt, 8);
    // Pruning: samples older than 48 h go.
    await lab.store.console.recordSamples([{ series: 'queue.depth', label: 'external', at: minute - 49 * 3_600_000, value: 9 }]);
    assert.equal(await lab.store.console.pruneSamples(minute - 48 * 3_600_000), 1);
  });

  test('quantile by nearest rank', () => {
    assert.equal(quantile([], 0.5), undefined);
    assert.equal(quantile([5], 0.95), 5);
    assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5), 5);
    assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95), 10);
  });
});
