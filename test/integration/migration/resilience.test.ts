/**
 * A connection dropped mid-pass (doveadm kick of the user on the target, as an
 * admin or a server restart would): the engine reconnects after a backoff,
 * resumes from the stored state, and the target ends with every message once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doveadm, useLab } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser } from '../../../src/migration/index.js';
import { contentOf, engineDeps, msg, snapshot, tempStore, withSession } from './setup.js';

test('resilience: the target kicks the user mid-pass; reconnect, resume, every message exactly once', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'kick');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 300; i++) await c.append('INBOX', msg(`d${i}`, '', `${'w'.repeat(76)}\r\n`.repeat(40)), [], new Date('2023-01-01T00:00:00Z'));
  });
  const store = await tempStore();
  t.after(() => store.close());
  let batchesSeen = 0;
  let kicked: Promise<unknown> | undefined;
  const waits: number[] = [];
  const r = await migrateUser(engineDeps(lab, store, {
    batchMessages: 20,
    retryBaseMs: 10,
    sleep: async (ms) => { waits.push(ms); },
    onProgress: (e) => {
      if (e.type === 'messages' && ++batchesSeen === 3) kicked = doveadm(lab.dovecot.cloud, ['kick', u.address]);
    },
  }), { address: u.address });
  await kicked;
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.ok((r.retries ?? 0) >= 1, `the pass was retried (waits ${JSON.stringify(waits)})`);
  assert.equal(waits[0], 10);
  const src = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'));
  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.equal(tgt.length, 300);
  assert.deepEqual(contentOf(tgt), contentOf(src));
});
