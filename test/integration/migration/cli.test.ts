/**
 * The migrate commands as an administrator runs them (child processes, a real
 * config file, the lab's Dovecots): plan, run --dry-run, run, status, verify with
 * exit codes; and kill -9 in the middle of a pass, then run again: every message
 * exactly once on the target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { cli, useLab, type LabInfo } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { contentOf, msg, snapshot, withSession } from './setup.js';

const DATE = new Date('2022-02-03T04:05:06Z');

function writeConfig(lab: LabInfo, users: string[]): { config: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mb-mig-cli-'));
  const sys = (s: 'legacy' | 'cloud') => `  ${s}:\n    imap: { host: 127.0.0.1, port: ${lab.dovecot[s].imapPort}, tls: none, admin: { user: ${lab.dovecot[s].masterUser}, password: "${lab.dovecot[s].masterPassword}" } }\n`;
  writeFileSync(join(dir, 'users.csv'), `address\n${users.join('\n')}\n`);
  const config = join(dir, 'mailbridge.yaml');
  writeFileSync(config, `organization: Test\ndomains: [${lab.domain}]\nstore: { sqlite: ./state.db }\nsystems:\n${sys('legacy')}${sys('cloud')}`
    + 'migration: { from: legacy, to: cloud, users: ./users.csv, concurrency: 2 }\n');
  return { config, dir };
}

test('cli: plan, dry run, run, status, verify (exit 0), verify after a change behind its back (exit 1)', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const [a, b] = await newMigrationUsers(lab, 2, 'cli');
  for (const u of [a!, b!]) {
    await withSession(lab.dovecot.legacy, u.address, async (c) => {
      for (let i = 0; i < 3; i++) await c.append('INBOX', msg(`c${i}`), ['\\Seen'], DATE);
      await c.mailboxCreate('Sent Items');
      await c.append('Sent Items', msg('si'), ['\\Seen'], DATE);
    });
  }
  const { config } = writeConfig(lab, [a!.address, b!.address]);
  const plan = await cli(['--config', config, 'migrate', 'plan', '--json']);
  assert.equal(plan.code, 0, plan.stderr);
  const p = JSON.parse(plan.stdout) as { users: { totals: { messages: number }; merges: unknown[]; estimate: { seconds: number | null } }[] };
  assert.equal(p.users[0]!.totals.messages, 4);
  assert.equal(p.users[0]!.merges.length, 1);
  assert.equal(typeof p.users[0]!.estimate.seconds, 'number');

  const dry = await cli(['--config', config, 'migrate', 'run', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal((await withSession(lab.dovecot.cloud, a!.address, (c) => snapshot(c, 'INBOX'))).length, 0, 'dry run writes nothing');

  const run = await cli(['--config', config, 'migrate', 'run', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as { users: { totals: { appended: number } }[] };
  assert.deepEqual(r.users.map((u) => u.totals.appended), [4, 4]);
  assert.match(run.stderr, /"type":"user-end"/, 'JSON lines progress when not a TTY');

  const status = await cli(['--config', config, 'migrate', 'status', '--json']);
  const s = JSON.parse(status.stdout) as { users: { state: string; passes: number }[] };
  assert.deepEqual(s.users.map((u) => u.state), ['synced', 'synced']);

  const ok = await cli(['--config', config, 'migrate', 'verify', '--user', a!.address, '--json']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  await withSession(lab.dovecot.cloud, a!.address, async (c) => {
    await c.mailboxOpen('INBOX');
    await c.messageDelete('1');
  });
  const bad = await cli(['--config', config, 'migrate', 'verify', '--user', a!.address]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /missing INBOX/);
  // Each verify is recorded for the console, the differing one with its differences.
  const db = new Database(join(dirname(config), 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`SELECT details FROM audit_log WHERE action = 'migration.verify' AND target = ? ORDER BY at`).all(a!.address) as { details: string }[];
    const details = rows.map((r) => JSON.parse(r.details) as { ok: boolean; differences: number; first: { kind: string }[] });
    assert.deepEqual(details.map((d) => [d.ok, d.differences]), [[true, 0], [false, 1]]);
    assert.equal(details[1]!.first[0]!.kind, 'missing');
  } finally {
    db.close();
  }
});

test('cli: kill -9 in the middle of a pass, run again: every message exactly once', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const [u] = await newMigrationUsers(lab, 1, 'crash');
  await withSession(lab.dovecot.legacy, u!.address, async (c) => {
    for (let i = 0; i < 400; i++) await c.append('INBOX', msg(`k${i}`, '', `${'z'.repeat(76)}\r\n`.repeat(100)), i % 3 ? [] : ['\\Seen'], DATE);
  });
  const { config, dir } = writeConfig(lab, [u!.address]);
  const env = { MAILBRIDGE_MIGRATION_BATCH: '40' };
  // Kill the moment a batch's intents are in the store: its APPENDs are in flight, some done, the rest not.
  const intentsNow = (): number => {
    try {
      const db = new Database(join(dir, 'state.db'), { readonly: true, fileMustExist: true });
      try {
        // Messages between intent and result: the entries of the batch intent records (store migration 011).
        return (db.prepare('select coalesce(sum(json_array_length(entries)), 0) as n from migration_intents').get() as { n: number }).n;
      } finally {
        db.close();
      }
    } catch {
      return 0;
    }
  };
  const killed = await cli(['--config', config, 'migrate', 'run'], { env, killWhen: (e) => (e.match(/"type":"messages"/g) ?? []).length >= 2, pollKill: () => intentsNow() > 0 });
  assert.equal(killed.signal, 'SIGKILL', `killed mid-pass (exit ${killed.code}): ${killed.stderr.slice(-300)}`);
  const intents = intentsNow();
  t.diagnostic(`intents left by the crash: ${intents}`);
  assert.ok(intents > 0, 'the crash left APPENDs in flight');
  const partial = await withSession(lab.dovecot.cloud, u!.address, (c) => snapshot(c, 'INBOX'));
  t.diagnostic(`on the target after the crash: ${partial.length}`);

  const again = await cli(['--config', config, 'migrate', 'run', '--json'], { env });
  assert.equal(again.code, 0, again.stderr.slice(-500));
  const rep = JSON.parse(again.stdout) as { users: { totals: { matched: number; appended: number } }[] };
  t.diagnostic(`second run: ${JSON.stringify(rep.users[0]!.totals)}`);
  const src = await withSession(lab.dovecot.legacy, u!.address, (c) => snapshot(c, 'INBOX'));
  const tgt = await withSession(lab.dovecot.cloud, u!.address, (c) => snapshot(c, 'INBOX'));
  assert.equal(tgt.length, 400);
  assert.deepEqual(contentOf(tgt), contentOf(src), 'every message exactly once, flags and dates intact');
  const verify = await cli(['--config', config, 'migrate', 'verify', '--json']);
  assert.equal(verify.code, 0, verify.stdout.slice(0, 500));
});
