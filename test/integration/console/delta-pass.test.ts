/**
 * serve's scheduled delta pass (migration.schedule) on the lab: the users of
 * migration.users are copied legacy -> cloud, except one already cut over,
 * which is left alone; the pass is recorded as a migration run; afterwards
 * /metrics shows the users by state and the messages and bytes copied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../../src/core/index.js';
import { createContext, openStoreFor } from '../../../src/cli/context.js';
import { cutOverAddresses, deltaDeps, runDeltaPass } from '../../../src/cli/commands/serve-jobs.js';
import { registerStoreMetrics, storeFigures } from '../../../src/cli/commands/console-figures.js';
import { freePort, useLab } from '../../harness/index.js';
import { inboxCount, masterSession, newMigrationUsers } from '../../harness/mail.js';
import { writeLabConfig } from '../../harness/lab-config.js';

const lab = await useLab(undefined, { only: ['dovecot'] });


test('a delta pass copies the users of migration.users and skips the one cut over; /metrics shows the result', async () => {
  const [a, b] = await newMigrationUsers(lab, 2, 'delta');
  for (const u of [a!, b!]) {
    const c = await masterSession(lab.dovecot.legacy, u.address);
    await c.append('INBOX', `From: x@example.org\r\nSubject: for ${u.address}\r\nMessage-ID: <d-${u.address}>\r\n\r\nhello\r\n`);
    await c.logout();
  }
  const dir = mkdtempSync(join(tmpdir(), 'mb-delta-'));
  const file = writeLabConfig(join(dir, 'mb'), lab, { webPort: await freePort(), gatewayPort: await freePort(), passwordHash: await hashPassword('x'), literalSecrets: true },
    [{ address: a!.address, name: 'A', system: 'legacy' }, { address: b!.address, name: 'B', system: 'legacy' }]);
  writeFileSync(file, readFileSync(file, 'utf8').replace('  users: ./migration-users.csv', '  users: ./migration-users.csv\n  schedule: "02:00"'));
  const ctx = createContext({ config: file }, { quiet: true });
  const store = await openStoreFor(ctx);
  try {
    // b was cut over (the cutover marks the user's migration state).
    await store.db.insertInto('migration_users').values({ address: b!.address, state: 'cutover', updated_at: Date.now() }).execute();
    assert.deepEqual([...await cutOverAddresses(store)], [b!.address]);

    const counts = await runDeltaPass(ctx, store, deltaDeps(ctx, store));
    assert.deepEqual(counts, { users: 1, ok: 1, failed: 0, skipped: 1, notReached: 0, total: 2 });
    assert.equal(await inboxCount(lab.dovecot.cloud, a!.address), 1);
    assert.equal(await inboxCount(lab.dovecot.cloud, b!.address), 0, 'the cut-over user is left alone');
    const run = await store.runs.latest('migration');
    assert.equal(run?.status, 'ok');
    assert.equal(run?.counts.skipped, 1);

    registerStoreMetrics(ctx.metrics.registry, store, storeFigures(store, { totalUsers: () => 2, concurrency: 1, ttlMs: 0 }));
    const m = await ctx.metrics.registry.metrics();
    assert.match(m, /mailbridge_migration_users\{state="synced"\} 1/);
    assert.match(m, /mailbridge_migration_users\{state="cutover"\} 1/);
    assert.match(m, /mailbridge_migration_copied_messages 1\n/);
    const bytes = /mailbridge_migration_copied_bytes (\d+)/.exec(m);
    assert.ok(bytes && Number(bytes[1]) > 40, m);
  } finally {
    await store.close();
  }
});
