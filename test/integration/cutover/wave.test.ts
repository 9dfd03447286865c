/**
 * A wave of 50 users cut over in one run, as an administrator does it (child
 * processes, a real config file with migration.waves naming its users by a
 * directory attribute): migrate run, migrate cutover --wave, migrate status,
 * and a later migrate run that leaves the cut-over users alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../src/store/index.js';
import { cli, useLab, type LabInfo } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { msg, withSession } from '../migration/setup.js';

function writeConfig(lab: LabInfo, users: string[]): { config: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mb-wave-'));
  const sys = (s: 'legacy' | 'cloud') => `  ${s}:\n    imap: { host: 127.0.0.1, port: ${lab.dovecot[s].imapPort}, tls: none, admin: { user: ${lab.dovecot[s].masterUser}, password: "${lab.dovecot[s].masterPassword}" } }\n`;
  writeFileSync(join(dir, 'users.csv'), `address\n${users.join('\n')}\n`);
  const config = join(dir, 'mailbridge.yaml');
  writeFileSync(config, `organization: Test\ndomains: [${lab.domain}]\nstore: { sqlite: ./state.db }\nsystems:\n${sys('legacy')}${sys('cloud')}`
    + 'migration:\n  from: legacy\n  to: cloud\n  users: ./users.csv\n  concurrency: 4\n  cutover: { settle: 200ms, concurrency: 4 }\n'
    + '  waves:\n    - { name: w1, attribute: { name: wave }, preDelta: 1h }\n    - { name: empty, users: [] }\n');
  return { config, dir };
}

test('a wave of 50 users cuts over in one run; status shows it; later passes skip them', { timeout: 600_000 }, async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const users = await newMigrationUsers(lab, 50, 'wave');
  for (const u of users) {
    await withSession(lab.dovecot.legacy, u.address, async (c) => {
      for (let i = 0; i < 2; i++) await c.append('INBOX', msg(`w${i}`), ['\\Seen']);
    });
  }
  const { config, dir } = writeConfig(lab, users.map((u) => u.address));
  const store = await openStore({ sqlite: join(dir, 'state.db') });
  for (const u of users) await store.users.upsert({ address: u.address, homeSystem: 'legacy', attributes: { wave: 'w1' } });
  await store.close();

  const run = await cli(['--config', config, 'migrate', 'run', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const started = Date.now();
  const cut = await cli(['--config', config, 'migrate', 'cutover', '--wave', 'w1', '--json']);
  const took = Date.now() - started;
  assert.equal(cut.code, 0, cut.stderr + cut.stdout.slice(0, 2000));
  const doc = JSON.parse(cut.stdout) as { ok: boolean; users: { status: string; heldMs: number }[]; wave: { done: string[]; users: number; heldMs: { max: number; avg: number }; noLiveGateway: boolean } };
  assert.equal(doc.ok, true);
  assert.equal(doc.wave.users, 50);
  assert.equal(doc.wave.done.length, 50);
  assert.equal(doc.wave.noLiveGateway, true, 'no gateway runs in this test, and the report says so');
  t.diagnostic(`50 users in ${took} ms; time held max ${doc.wave.heldMs.max} ms, avg ${doc.wave.heldMs.avg} ms`);

  const status = await cli(['--config', config, 'migrate', 'status', '--json']);
  const st = JSON.parse(status.stdout) as { users: { state: string; cutover: { status: string; kind: string } | null }[] };
  assert.equal(st.users.filter((u) => u.state === 'cutover' && u.cutover?.status === 'done' && u.cutover.kind === 'cutover').length, 50);
  const text = await cli(['--config', config, 'migrate', 'status']);
  assert.match(text.stdout, /cut over/);

  const check = await openStore({ sqlite: join(dir, 'state.db') });
  t.after(() => check.close());
  assert.equal(await check.users.count({ homeSystem: 'cloud' }), 50, 'every home flipped');
  const waves = await check.cutover.waves();
  assert.equal(waves[0]?.name, 'w1');
  assert.equal(waves[0]?.status, 'done');

  const again = await cli(['--config', config, 'migrate', 'run', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const a = JSON.parse(again.stdout) as { users: unknown[]; skippedCutOver: string[] };
  assert.equal(a.users.length, 0);
  assert.equal(a.skippedCutOver.length, 50);

  const bad = await cli(['--config', config, 'migrate', 'cutover', '--wave', 'nope']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no wave named "nope"/);
  const both = await cli(['--config', config, 'migrate', 'cutover', users[0]!.address, '--all']);
  assert.equal(both.code, 2);
  const already = await cli(['--config', config, 'migrate', 'cutover', users[0]!.address]);
  assert.equal(already.code, 1, 'refused: already cut over');
  assert.match(already.stdout, /REFUSED .*already cut over/);
});
