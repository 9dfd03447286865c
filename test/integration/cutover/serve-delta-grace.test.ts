/**
 * serve's scheduled delta pass and --keep-syncing (issue 8): a user cut over
 * inside the grace still gets the pass (late arrivals in the old mailbox are
 * copied) and stays 'cutover'; one whose grace is over (or who had none) is left
 * alone. Same rule as `migrate run` (src/cutover deltaPassPlan).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../../src/core/index.js';
import { createContext, openStoreFor } from '../../../src/cli/context.js';
import { cutOverAddresses, deltaDeps, runDeltaPass } from '../../../src/cli/commands/serve-jobs.js';
import { freePort, useLab } from '../../harness/index.js';
import { inboxCount, masterSession, newMigrationUsers } from '../../harness/mail.js';
import { writeLabConfig } from '../../harness/lab-config.js';

const lab = await useLab(undefined, { only: ['dovecot'] });


async function deliver(address: string, tag: string): Promise<void> {
  const c = await masterSession(lab.dovecot.legacy, address);
  try {
    await c.append('INBOX', `From: x@example.org\r\nSubject: ${tag}\r\nMessage-ID: <${tag}-${address}>\r\n\r\nhello\r\n`);
  } finally {
    await c.logout();
  }
}

test('serve delta pass: a cut-over user inside the --keep-syncing grace gets the pass, one past it does not', async () => {
  const [g, x] = await newMigrationUsers(lab, 2, 'grace');
  for (const u of [g!, x!]) await deliver(u.address, 'first');
  const dir = mkdtempSync(join(tmpdir(), 'mb-grace-'));
  const file = writeLabConfig(join(dir, 'mb'), lab, { webPort: await freePort(), gatewayPort: await freePort(), passwordHash: await hashPassword('x'), literalSecrets: true },
    [{ address: g!.address, name: 'G', system: 'legacy' }, { address: x!.address, name: 'X', system: 'legacy' }]);
  const ctx = createContext({ config: file }, { quiet: true });
  const store = await openStoreFor(ctx);
  try {
    const first = await runDeltaPass(ctx, store, deltaDeps(ctx, store));
    assert.equal(first.ok, 2);
    const now = Date.now();
    for (const [u, keep] of [[g!, now + 3_600_000], [x!, now - 1000]] as const) {
      await store.users.upsert({ address: u.address, homeSystem: 'legacy' });
      assert.equal(await store.cutover.flipHome(u.address, { home: 'cloud', migrationState: 'cutover',
        user: { state: 'cutover', fromSystem: 'legacy', toSystem: 'cloud', cutOverAt: now - 60_000, keepSyncingUntil: keep, recordId: null } }), true);
    }
    assert.deepEqual([...await cutOverAddresses(store)], [x!.address], 'only the one past its grace is skipped');

    for (const u of [g!, x!]) await deliver(u.address, 'late');
    const counts = await runDeltaPass(ctx, store, deltaDeps(ctx, store));
    assert.deepEqual({ users: counts.users, ok: counts.ok, skipped: counts.skipped }, { users: 1, ok: 1, skipped: 1 });
    assert.equal(await inboxCount(lab.dovecot.cloud, g!.address), 2, 'the late arrival of the user in the grace is copied');
    assert.equal(await inboxCount(lab.dovecot.cloud, x!.address), 1, 'the user past the grace is left alone');
    const states = await store.db.selectFrom('migration_users').select(['address', 'state']).execute();
    assert.equal(states.find((r) => r.address === g!.address)?.state, 'cutover', 'the grace user stays cut over after the pass');
    assert.equal((await store.users.get(g!.address))?.migrationState, 'cutover');
  } finally {
    await store.close();
  }
});
