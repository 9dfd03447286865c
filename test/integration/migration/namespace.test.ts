/**
 * Namespace prefixes (RFC 2342) against real Dovecots: a Courier/Cyrus-style
 * server keeps every folder under "INBOX.", a plain one under "". The engine asks
 * NAMESPACE on both sides and maps "INBOX.Sent" to the target's Sent (special
 * use) and "INBOX.Projects.A" to "Projects/A", and the other way round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDir, startDovecot, stopPid, useLab, waitForMailUser, type DovecotInfo } from '../../harness/index.js';
import { newMigrationUser, type MigrationPair } from '../../harness/mail.js';
import { migrateUser, verifyUser } from '../../../src/migration/index.js';
import { contentOf, engineDeps, msg, snapshot, systemOf, tempStore, withSession } from './setup.js';

async function prefixedDovecot(t: { after: (fn: () => Promise<void>) => void }, system: 'legacy' | 'cloud', prefix: string): Promise<DovecotInfo> {
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-ns-')));
  const priv = await startDovecot(dir, system, { prefix });
  t.after(() => stopPid(priv.server.pid));
  return priv.info;
}

async function addUser(info: DovecotInfo, u: MigrationPair): Promise<void> {
  appendFileSync(info.passwdFile, `${u.address}:{PLAIN}${u.password}::::::\n`);
  await waitForMailUser(info, u.address);
}

async function names(info: DovecotInfo, address: string): Promise<string[]> {
  return withSession(info, address, async (c) => (await c.list()).map((f) => f.path).sort());
}

test('namespace: an "INBOX." source (Courier/Cyrus style) maps INBOX.Sent to Sent and INBOX.Projects.A to Projects/A', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const source = await prefixedDovecot(t, 'legacy', 'INBOX.');
  const u = await newMigrationUser(lab, 'ns-src');
  await addUser(source, u);
  await withSession(source, u.address, async (c) => {
    assert.equal(c.namespace?.prefix, 'INBOX.', 'the private Dovecot announces the prefix');
    await c.mailboxCreate('INBOX.Projects.A');
    await c.append('INBOX', msg('in'), ['\\Seen']);
    await c.append('INBOX.Sent', msg('sent'), ['\\Seen']);
    await c.append('INBOX.Projects.A', msg('project'), []);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const deps = engineDeps(lab, store, { source: systemOf(source) });
  const r = await migrateUser(deps, { address: u.address });
  assert.equal(r.ok, true, JSON.stringify(r.error ?? r.refusals));
  assert.equal(r.totals.appended, 3);

  const target = await names(lab.dovecot.cloud, u.address);
  assert.ok(target.includes('Projects/A'), target.join(', '));
  assert.ok(!target.some((n) => n.startsWith('INBOX/')), `no INBOX/ children on the target: ${target.join(', ')}`);
  for (const [src, dst] of [['INBOX.Sent', 'Sent'], ['INBOX.Projects.A', 'Projects/A'], ['INBOX', 'INBOX']] as const) {
    const a = await withSession(source, u.address, (c) => snapshot(c, src));
    const b = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, dst));
    assert.equal(a.length, 1, src);
    assert.deepEqual(contentOf(b), contentOf(a), `${src} -> ${dst}`);
  }
  const v = await verifyUser(deps, { address: u.address });
  assert.equal(v.ok, true, JSON.stringify(v.differences));
});

test('namespace: a plain "." source into an "INBOX/" target puts folders under the prefix, Sent into INBOX/Sent', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const target = await prefixedDovecot(t, 'cloud', 'INBOX/');
  const u = await newMigrationUser(lab, 'ns-dst');
  await addUser(target, u);
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxCreate('Projects.A');
    await c.append('Sent', msg('sent'), ['\\Seen']);
    await c.append('Projects.A', msg('project'), []);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const deps = engineDeps(lab, store, { target: systemOf(target) });
  const r = await migrateUser(deps, { address: u.address });
  assert.equal(r.ok, true, JSON.stringify(r.error ?? r.refusals));
  assert.equal(r.totals.appended, 2);
  const listed = await names(target, u.address);
  assert.ok(listed.includes('INBOX/Projects/A'), listed.join(', '));
  assert.ok(!listed.includes('INBOX/INBOX'), listed.join(', '));
  const sent = await withSession(target, u.address, (c) => snapshot(c, 'INBOX/Sent'));
  assert.equal(sent.length, 1);
  const v = await verifyUser(deps, { address: u.address });
  assert.equal(v.ok, true, JSON.stringify(v.differences));
});
