/**
 * The console's Directory, Migration and Free/busy API on data made by the real
 * parts: a `directory sync` against the lab's slapd (a private tree), a
 * migration pass and a verify between the lab's two Dovecots, and a free/busy
 * lookup of an event stored in Radicale. Through fastify's inject with a
 * session, as the pages call it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResolver, buildSources, FreeBusyBroker } from '../../../src/calendar/index.js';
import { hashPassword } from '../../../src/core/index.js';
import { showRecord } from '../../../src/directory/index.js';
import { migrateUser, verifyUser } from '../../../src/migration/index.js';
import { createMetrics, silentLogger } from '../../../src/observe/index.js';
import { createWebServer, directoryArea, freeBusyArea, migrationArea } from '../../../src/web/index.js';
import { useLab } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { makeTree } from '../directory/helpers.js';
import { engineDeps, msg, withSession } from '../migration/setup.js';
import { calendarConfig, calendarPerson, caldavSystem, put, vcalendar } from '../calendar/setup.js';

const PASSWORD = 'pages integration password';
const lab = await useLab(undefined, { only: ['dovecot', 'ldap', 'radicale'] });

test('directory, migration and free/busy pages answer from real sync, migration and CalDAV data', async (t) => {
  const tree = await makeTree(lab);
  t.after(() => tree.close());
  const alice = tree.addr('alice');
  await tree.add('legacy', { uid: 'alice', cn: 'Alice Archer', displayName: 'Alice Archer', mail: alice, aliases: [tree.addr('sales')], title: 'Buyer' });
  await tree.add('cloud', { uid: 'bob', cn: 'Bob Builder', mail: tree.addr('bob') });
  const sync = await tree.sync();
  assert.equal(sync.status, 'ok', JSON.stringify(sync.errors));

  // A real migration pass and verify of a user made on both Dovecots.
  const u = await newMigrationUser(lab, 'pages');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 3; i++) await c.append('INBOX', msg(`in${i}`), ['\\Seen']);
    await c.mailboxCreate('Projects');
    await c.append('Projects', msg('p0'), []);
  });
  const deps = engineDeps(lab, tree.store);
  const pass = await migrateUser(deps, { address: u.address });
  assert.equal(pass.ok, true, JSON.stringify(pass.error));
  assert.equal((await verifyUser(deps, { address: u.address })).ok, true);

  // Radicale: a person with one busy hour tomorrow (UTC).
  const radicale = lab.radicale!;
  const person = await calendarPerson(radicale, 'pages');
  const day = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const stamp = day.replace(/-/g, '');
  await put(radicale, person.calendarUrl, 'meeting', vcalendar([['UID:meeting', `DTSTART:${stamp}T100000Z`, `DTEND:${stamp}T113000Z`, 'SUMMARY:secret title']]));
  const config = calendarConfig({ systems: { cloud: caldavSystem('cloud', radicale) } });
  const broker = new FreeBusyBroker({
    resolver: buildResolver(config, { cloud: `address,name\n${person.address},Person\n` }), sources: buildSources(config),
    timeout: 5000, cacheTtl: 0, log: silentLogger(), windowBack: 86_400_000, windowForward: 30 * 86_400_000, maxWindow: 62 * 86_400_000,
  });
  t.after(() => broker.close());

  const c = tree.store.console;
  const app = createWebServer({
    log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [],
    console: {
      organization: 'Test', users: [{ name: 'admin', passwordHash: await hashPassword(PASSWORD) }], checks: tree.store.checks, audit: tree.store.audit, staleAfterMs: 60_000,
      areas: [
        directoryArea({ systems: ['legacy', 'cloud'], people: (q) => c.searchPeople(q), show: (a) => showRecord(tree.store, a, tree.config), conflicts: () => c.conflicts(), runs: (o) => c.runs(o) }),
        migrationArea({ users: (a) => c.migrationUsers(a), folders: (a) => c.migrationFolders(a), refusals: (a) => c.migrationRefusals(a), throughput: (o) => c.throughput(o), cutover: (a) => c.cutoverOf(a) }),
        freeBusyArea({ broker }),
      ],
    },
  });
  t.after(() => app.close());
  const login = await app.inject({ method: 'POST', url: '/api/login', payload: { name: 'admin', password: PASSWORD } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const get = async (url: string) => {
    const res = await app.inject({ url, headers: { cookie } });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };

  // Directory: found by alias, name; the record says where each value came from.
  const byAlias = await get(`/api/directory/people?q=${encodeURIComponent(tree.addr('sales'))}`);
  assert.deepEqual((byAlias.body.people as unknown as { address: string }[]).map((p) => p.address), [alice]);
  const byName = await get(`/api/directory/people?q=archer&system=legacy`);
  assert.ok((byName.body.people as unknown as { address: string }[]).some((p) => p.address === alice));
  const rec = await get(`/api/directory/people/${encodeURIComponent(alice)}`);
  assert.equal(rec.status, 200);
  const shown = rec.body as unknown as { record: { displayName: string; homeSystem: string; attributes: Record<string, string> }; sources: { system: string; origins: Record<string, string> }[]; routing: { system: string } };
  assert.equal(shown.record.displayName, 'Alice Archer');
  assert.equal(shown.record.homeSystem, 'legacy');
  assert.equal(shown.routing.system, 'legacy');
  const legacy = shown.sources.find((s) => s.system === 'legacy')!;
  assert.match(legacy.origins.dn ?? '', /^uid=alice,ou=legacy,/i);
  assert.equal(legacy.origins.displayName, 'displayName');
  const runs = (await get('/api/directory/runs')).body.runs as unknown as { status: string; counts: Record<string, number> }[];
  assert.equal(runs[0]!.status, 'ok');

  // Migration: the user verified, 4 messages copied in two folders.
  const list = (await get('/api/migration/users')).body as unknown as { users: { address: string; state: string; progress: number; copied: number; copiedBytes: number }[] };
  const mu = list.users.find((x) => x.address === u.address)!;
  assert.deepEqual([mu.state, mu.progress, mu.copied], ['verified', 1, 4]);
  assert.ok(mu.copiedBytes > 4 * 50, `bytes ${mu.copiedBytes}`);
  const detail = (await get(`/api/migration/users/${encodeURIComponent(u.address)}`)).body as unknown as { folders: { sourceFolder: string; targetFolder: string; messages: Record<string, number> }[]; verify: { ok: boolean }; refusals: unknown[] };
  assert.deepEqual(detail.folders.filter((f) => f.messages.done).map((f) => [f.sourceFolder, f.messages.done]).sort(), [['INBOX', 3], ['Projects', 1]]);
  assert.ok(detail.folders.some((f) => f.sourceFolder === 'Sent' && f.targetFolder === 'Sent'), 'empty folders are listed too');
  assert.equal(detail.verify.ok, true);
  assert.deepEqual(detail.refusals, []);
  const tp = (await get(`/api/migration/throughput?address=${encodeURIComponent(u.address)}&bucket=1m&since=${Date.now() - 3_600_000}`)).body as unknown as { points: { messages: number }[] };
  assert.equal(tp.points.reduce((n, p) => n + p.messages, 0), 4);

  // Free/busy: the Radicale event as a busy block, no title in the answer.
  const fb = await get(`/api/freebusy/${encodeURIComponent(person.address)}?day=${day}&tz=UTC`);
  assert.equal(fb.status, 200, JSON.stringify(fb.body));
  assert.equal(fb.body.status, 'ok', JSON.stringify(fb.body));
  assert.deepEqual(fb.body.busy, [{ start: `${day}T10:00:00.000Z`, end: `${day}T11:30:00.000Z`, type: 'BUSY' }]);
  assert.doesNotMatch(JSON.stringify(fb.body), /secret title/);
});
