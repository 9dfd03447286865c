/**
 * Multi-node claiming (DESIGN.md "One machine, then many"), on both store
 * drivers: two workers (two store connections, as two machines would have)
 * racing over the same users never copy a user at the same time and every
 * message lands once; a user leased by a live worker is "busy on another node"
 * (skipped by migrate run, not failed); an expired lease (a crashed worker) is
 * taken over; a lease is renewed while held and lost once it expired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { useLab } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { MigrationErrors, UserLease, migrateUser, migrateUsers, type ProgressEvent, type UserPassReport } from '../../../src/migration/index.js';
import { engineDeps, msg, snapshot, withSession } from './setup.js';
import { freshDatabases } from '../store/pg.js';

const lab = await useLab(undefined, { only: ['dovecot', 'postgres'] });
const freshDatabase = await freshDatabases();
const DATE = new Date('2021-03-04T05:06:07Z');

/** Two stores on one database: two nodes. */
async function twoNodes(driver: 'sqlite' | 'postgres'): Promise<[Store, Store]> {
  if (driver === 'postgres') {
    const url = await freshDatabase();
    const a = await openStore({ postgres: url });
    return [a, await openStore({ postgres: url })];
  }
  const file = join(mkdtempSync(join(tmpdir(), 'mb-lease-')), 'state.db');
  const a = await openStore({ sqlite: file });
  return [a, await openStore({ sqlite: file })];
}

async function seed(address: string, n: number): Promise<void> {
  await withSession(lab.dovecot.legacy, address, async (c) => {
    for (let i = 0; i < n; i++) await c.append('INBOX', msg(`lease${i}`, '', `body ${i}\r\n`.repeat(50)), [], DATE);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const driver of ['sqlite', 'postgres'] as const) {
  test(`lease (${driver}): two workers racing over the same users copy each user once, never at the same time`, async (t) => {
    const [sa, sb] = await twoNodes(driver);
    t.after(async () => { await sa.close(); await sb.close(); });
    assert.equal(sa.dialect, driver);
    const users = await newMigrationUsers(lab, 6, 'lease');
    const N = 30;
    for (const u of users) await seed(u.address, N);
    // Per user, the copying intervals of each node (busy skips excluded).
    const spans: { node: string; address: string; start: number; end: number }[] = [];
    const track = (node: string) => {
      const open = new Map<string, number>();
      return (e: ProgressEvent) => {
        if (e.type === 'user-start') open.set(e.address, performance.now());
        if (e.type === 'user-end' && !e.report.busy) spans.push({ node, address: e.address, start: open.get(e.address)!, end: performance.now() });
      };
    };
    const list = users.map((u) => ({ address: u.address }));
    const [ra, rb] = await Promise.all([
      migrateUsers(engineDeps(lab, sa, { leaseOwner: 'node-a', onProgress: track('node-a') }), list, { concurrency: 2 }),
      migrateUsers(engineDeps(lab, sb, { leaseOwner: 'node-b', onProgress: track('node-b') }), list, { concurrency: 2 }),
    ]);
    const all: UserPassReport[] = [...ra, ...rb];
    assert.ok(all.every((r) => r.ok), JSON.stringify(all.filter((r) => !r.ok).map((r) => r.error)));
    const busy = all.filter((r) => r.busy);
    assert.ok(busy.length >= 1, 'started together on the same list, the two nodes must meet on some user');
    for (const r of busy) {
      assert.equal(r.error?.code, MigrationErrors.MIGRATION_USER_BUSY);
      // On PostgreSQL the row may be locked by the other node's claim at that moment (SKIP LOCKED): no owner known yet.
      assert.match(r.error!.message, /^busy on another node: (node-[ab]|another node \(claiming it now\)) holds the lease/);
      assert.equal(r.totals.appended, 0);
    }
    for (const u of users) {
      const mine = all.filter((r) => r.address === u.address && !r.busy);
      assert.ok(mine.length >= 1, `${u.address} was copied by some node`);
      assert.equal(mine.reduce((n, r) => n + r.totals.appended, 0), N, `${u.address}: every message appended exactly once over both nodes`);
      const s = spans.filter((x) => x.address === u.address).sort((x, y) => x.start - y.start);
      for (let i = 1; i < s.length; i++) assert.ok(s[i]!.start >= s[i - 1]!.end, `${u.address}: ${s[i - 1]!.node} and ${s[i]!.node} copied it at the same time`);
      const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
      assert.equal(tgt.length, N, `${u.address}: no duplicate on the target`);
      assert.equal(new Set(tgt.map((x) => x.sha)).size, N);
      const row = await sa.db.selectFrom('migration_users').selectAll().where('address', '=', u.address).executeTakeFirstOrThrow();
      assert.equal(row.state, 'synced');
      assert.equal(row.lease_owner, null, 'the lease is released at the end');
    }
  });

  test(`lease (${driver}): a live lease makes the user busy; an expired one (crashed worker) is taken over`, async (t) => {
    const [sa, sb] = await twoNodes(driver);
    t.after(async () => { await sa.close(); await sb.close(); });
    const [u] = await newMigrationUsers(lab, 1, 'lease-crash');
    await seed(u!.address, 12);
    const claim = await UserLease.claim(sa.db, u!.address, 'crashed-node', 60_000);
    assert.ok(claim.claimed);
    // migrate run skips it (not failed); a single pass (the cutover's) says it did not happen.
    const [skipped] = await migrateUsers(engineDeps(lab, sb, { leaseOwner: 'node-b' }), [{ address: u!.address }], { concurrency: 1 });
    assert.equal(skipped!.ok, true);
    assert.equal(skipped!.busy?.owner, 'crashed-node');
    assert.match(skipped!.error!.message, /busy on another node: crashed-node holds the lease until \d{4}-/);
    const single = await migrateUser(engineDeps(lab, sb, { leaseOwner: 'node-b' }), { address: u!.address });
    assert.equal(single.ok, false);
    assert.equal(single.error?.code, MigrationErrors.MIGRATION_USER_BUSY);
    assert.equal((await withSession(lab.dovecot.cloud, u!.address, (c) => snapshot(c, 'INBOX'))).length, 0, 'nothing copied while busy');
    // The worker crashed: its lease runs out.
    await sa.db.updateTable('migration_users').set({ lease_expires: Date.now() - 1 }).where('address', '=', u!.address).execute();
    const [taken] = await migrateUsers(engineDeps(lab, sb, { leaseOwner: 'node-b' }), [{ address: u!.address }], { concurrency: 1 });
    assert.equal(taken!.ok, true, JSON.stringify(taken!.error));
    assert.equal(taken!.busy, undefined);
    assert.equal(taken!.totals.appended, 12);
    assert.equal((await withSession(lab.dovecot.cloud, u!.address, (c) => snapshot(c, 'INBOX'))).length, 12);
    const row = await sb.db.selectFrom('migration_users').selectAll().where('address', '=', u!.address).executeTakeFirstOrThrow();
    assert.equal(row.state, 'synced');
    assert.equal(row.lease_owner, null);
    // The crashed worker's old lease object can no longer renew.
    if (claim.claimed) assert.equal(await claim.lease.renew(), false);
  });

  test(`lease (${driver}): the heartbeat keeps a lease alive past its time; a lapsed one is lost to the next claimer`, async (t) => {
    const [sa, sb] = await twoNodes(driver);
    t.after(async () => { await sa.close(); await sb.close(); });
    const address = `hb-${driver}@example.com`;
    const a = await UserLease.claim(sa.db, address, 'node-a', 300);
    assert.ok(a.claimed);
    let lost = false;
    const stop = a.claimed ? a.lease.heartbeat(() => { lost = true; }) : async () => undefined;
    await sleep(800);
    const b1 = await UserLease.claim(sb.db, address, 'node-b', 300);
    assert.equal(b1.claimed, false, 'renewed every 100 ms, the 300 ms lease is still node-a\'s after 800 ms');
    if (!b1.claimed) assert.equal(b1.holder.owner, 'node-a');
    await stop();
    assert.equal(lost, false);
    await sleep(400);
    const b2 = await UserLease.claim(sb.db, address, 'node-b', 300);
    assert.ok(b2.claimed, 'without the heartbeat the lease lapsed');
    if (b2.claimed) assert.equal(b2.tookOver?.owner, 'node-a');
    if (a.claimed) assert.equal(await a.lease.renew(), false);
    if (b2.claimed) await b2.lease.release();
    const row = await sa.db.selectFrom('migration_users').selectAll().where('address', '=', address).executeTakeFirstOrThrow();
    assert.equal(row.lease_owner, null);
    // A live lease of a process of this host that is gone (kill -9, run again) is taken over at once.
    const alive = await UserLease.claim(sa.db, address, `${hostname()}/${process.pid}/other-call`, 60_000);
    assert.ok(alive.claimed);
    const blocked = await UserLease.claim(sb.db, address, 'node-b', 60_000);
    assert.equal(blocked.claimed, false, 'a live lease of a live local process (this one, another call) stays');
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    await sa.db.updateTable('migration_users').set({ lease_owner: `${hostname()}/${gone}/dead` }).where('address', '=', address).execute();
    const after = await UserLease.claim(sb.db, address, 'node-b', 60_000);
    assert.ok(after.claimed, 'the lease of a local process that is gone is taken over before its expiry');
    if (after.claimed) assert.equal(after.tookOver?.owner, `${hostname()}/${gone}/dead`);
  });
}
