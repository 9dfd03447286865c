/**
 * Migration leases, the operator's side: migration.leaseTime (config, and the
 * lease the engine actually writes), the lease log events (claimed, takeover
 * with its reason, busy, released) and `mailbridge migrate run` with a user
 * whose lease another node holds: one "busy ..., skipped" line, status "busy"
 * in --json, exit 0 unless something else failed (DESIGN.md exit codes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { cli, useLab, type LabInfo } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { parseConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/observe/index.js';
import { openStore } from '../../../src/store/index.js';
import { UserLease, migrateUsers, type EngineDeps } from '../../../src/migration/index.js';
import { engineDeps, msg, snapshot, withSession } from './setup.js';
import { freshDatabases } from '../store/pg.js';

const DATE = new Date('2023-04-05T06:07:08Z');

async function seed(lab: LabInfo, address: string, n: number): Promise<void> {
  await withSession(lab.dovecot.legacy, address, async (c) => {
    for (let i = 0; i < n; i++) await c.append('INBOX', msg(`lc${i}`), [], DATE);
  });
}

const BASE = 'organization: Test\ndomains: [example.com]\nsystems:\n  a: { imap: { host: 127.0.0.1, port: 1143 } }\n  b: { imap: { host: 127.0.0.1, port: 2143 } }\n';

test('migration.leaseTime: a duration, 60s by default, at least 1s', () => {
  assert.equal(parseConfig(`${BASE}migration: { from: a, to: b }\n`, '/x/mailbridge.yaml').migration!.leaseTime, 60_000);
  assert.equal(parseConfig(`${BASE}migration: { from: a, to: b, leaseTime: 2m30s }\n`, '/x/mailbridge.yaml').migration!.leaseTime, 150_000);
  for (const bad of ['500ms', 'soon', '0s']) {
    assert.throws(() => parseConfig(`${BASE}migration: { from: a, to: b, leaseTime: ${bad} }\n`, '/x/mailbridge.yaml'), (err: unknown) => {
      const text = `${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details ?? '')}`;
      assert.match(text, /migration\.leaseTime/, text);
      return true;
    }, bad);
  }
});

interface LogLine { event: string; [k: string]: unknown }

function memoryLog(): { log: EngineDeps['log']; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', destination, pretty: false }), lines };
}

const freshDatabase = await freshDatabases();

for (const driver of ['sqlite', 'postgres'] as const) test(`the engine leases for migration.leaseTime and logs claimed, busy, takeover (expired, owner gone) and released (${driver})`, async (t) => {
  const lab = await useLab(t, { only: ['dovecot', 'postgres'] });
  const store = driver === 'sqlite' ? await openStore({ sqlite: join(mkdtempSync(join(tmpdir(), 'mb-lease-ev-')), 'state.db') }) : await openStore({ postgres: await freshDatabase() });
  t.after(() => store.close());
  assert.equal(store.dialect, driver);
  const [u] = await newMigrationUsers(lab, 1, `lease-ev-${driver}`);
  const address = u!.address;
  await seed(lab, address, 3);
  const { log, lines } = memoryLog();
  const base = engineDeps(lab, store);
  let leaseLeft: Promise<number> | undefined;
  const deps: EngineDeps = {
    ...base, log, leaseOwner: 'node-a', migration: { ...base.migration, leaseTime: 4000 },
    onProgress: (e) => {
      // The claim is made before the pass starts: read what it wrote while the user is being copied.
      if (e.type === 'user-start' && !leaseLeft) {
        leaseLeft = store.db.selectFrom('migration_users').select('lease_expires').where('address', '=', address).executeTakeFirstOrThrow()
          .then((r) => Number(r.lease_expires) - Date.now());
      }
    },
  };
  const of = (event: string): LogLine[] => lines.filter((l) => l.event === event && l.address === address);

  const [first] = await migrateUsers(deps, [{ address }], { concurrency: 1 });
  assert.equal(first!.ok, true, JSON.stringify(first!.error));
  assert.equal(first!.totals.appended, 3);
  const left = await leaseLeft!;
  assert.ok(left > 2000 && left <= 4000, `lease written for migration.leaseTime (4 s): ${left} ms left at the start`);
  assert.equal(of('migration.lease.claimed').length, 1);
  assert.equal(of('migration.lease.claimed')[0]!.owner, 'node-a');
  assert.equal(of('migration.lease.claimed')[0]!.leaseMs, 4000);
  assert.equal(of('migration.lease.released').length, 1);
  assert.equal(of('migration.lease.takeover').length, 0);

  // Another live node holds it: busy, logged with the holder.
  const other = await UserLease.claim(store.db, address, 'node-x', 600_000);
  assert.ok(other.claimed);
  const [busy] = await migrateUsers(deps, [{ address }], { concurrency: 1 });
  assert.equal(busy!.busy?.owner, 'node-x');
  assert.equal(of('migration.lease.busy').length, 1);
  assert.equal(of('migration.lease.busy')[0]!.holder, 'node-x');
  assert.match(String(of('migration.lease.busy')[0]!.holderExpires), /^\d{4}-\d\d-\d\dT/);
  assert.equal(of('migration.lease.released').length, 1, 'nothing released by a run that did not hold the lease');

  // node-x crashed: its lease ran out.
  await store.db.updateTable('migration_users').set({ lease_expires: Date.now() - 1 }).where('address', '=', address).execute();
  await migrateUsers(deps, [{ address }], { concurrency: 1 });
  const expired = of('migration.lease.takeover');
  assert.equal(expired.length, 1);
  assert.equal(expired[0]!.reason, 'expired');
  assert.equal(expired[0]!.previousOwner, 'node-x');
  assert.equal(expired[0]!.level, 40, 'a takeover is a warning');

  // A live lease of a process of this host that is gone (kill -9): taken over before its expiry.
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  await store.db.updateTable('migration_users').set({ lease_owner: `${hostname()}/${gone}/dead`, lease_expires: Date.now() + 600_000 }).where('address', '=', address).execute();
  await migrateUsers(deps, [{ address }], { concurrency: 1 });
  const dead = of('migration.lease.takeover');
  assert.equal(dead.length, 2);
  assert.equal(dead[1]!.reason, 'owner-gone');
  assert.equal(dead[1]!.previousOwner, `${hostname()}/${gone}/dead`);
  assert.equal(of('migration.lease.released').length, 3);
  assert.equal((await withSession(lab.dovecot.cloud, address, (c) => snapshot(c, 'INBOX'))).length, 3, 'copied once over all the runs');
});

function writeConfig(lab: LabInfo, dir: string, users: string[]): string {
  const sys = (s: 'legacy' | 'cloud') => `  ${s}:\n    imap: { host: 127.0.0.1, port: ${lab.dovecot[s].imapPort}, tls: none, admin: { user: ${lab.dovecot[s].masterUser}, password: "${lab.dovecot[s].masterPassword}" } }\n`;
  writeFileSync(join(dir, 'users.csv'), `address\n${users.join('\n')}\n`);
  const config = join(dir, 'mailbridge.yaml');
  writeFileSync(config, `organization: Test\ndomains: [${lab.domain}]\nstore: { sqlite: ./state.db }\nsystems:\n${sys('legacy')}${sys('cloud')}`
    + 'migration: { from: legacy, to: cloud, users: ./users.csv, concurrency: 2, leaseTime: 2m }\n');
  return config;
}

interface RunJson { ok: boolean; skippedBusy: string[]; users: { address: string; status: string; ok: boolean; busy?: { owner: string; expires: string | null }; error?: { code: string } }[] }

test('migrate run: a user leased by another node is one "busy ..., skipped" line, status busy in --json, and not a failure', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const [a, b] = await newMigrationUsers(lab, 2, 'lease-cli');
  for (const u of [a!, b!]) await seed(lab, u.address, 2);
  const dir = mkdtempSync(join(tmpdir(), 'mb-lease-cli-'));
  const config = writeConfig(lab, dir, [a!.address, b!.address]);
  // Another node is copying a right now.
  const store = await openStore({ sqlite: join(dir, 'state.db') });
  const held = await UserLease.claim(store.db, a!.address, 'node-x', 3_600_000);
  await store.close();
  assert.ok(held.claimed);
  const until = new Date((await (async () => {
    const s = await openStore({ sqlite: join(dir, 'state.db') });
    try {
      return Number((await s.db.selectFrom('migration_users').select('lease_expires').where('address', '=', a!.address).executeTakeFirstOrThrow()).lease_expires);
    } finally {
      await s.close();
    }
  })())).toISOString();

  const text = await cli(['--config', config, 'migrate', 'run']);
  assert.equal(text.code, 0, `busy is not a failure: ${text.stdout}${text.stderr}`);
  const lines = text.stdout.split('\n');
  const aLines = lines.filter((l) => l.includes(a!.address));
  assert.deepEqual(aLines, [`busy   ${a!.address}: busy (held by node-x until ${until}), skipped`], text.stdout);
  assert.ok(!lines.some((l) => /^\s*error /.test(l)), `no error line: ${text.stdout}`);
  assert.ok(lines.some((l) => l.startsWith(`ok     ${b!.address}: `)), text.stdout);

  const json = await cli(['--config', config, 'migrate', 'run', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as RunJson;
  const ja = doc.users.find((u) => u.address === a!.address)!;
  const jb = doc.users.find((u) => u.address === b!.address)!;
  assert.equal(ja.status, 'busy');
  assert.deepEqual(ja.busy, { owner: 'node-x', expires: until });
  assert.equal(ja.error, undefined, 'a busy user carries no error');
  assert.equal(jb.status, 'ok');
  assert.equal(doc.ok, true);
  assert.deepEqual(doc.skippedBusy, [a!.address]);
  // The progress lines on stderr say the same.
  const ends = json.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; address: string; status?: string; error?: unknown })
    .filter((e) => e.type === 'user-end');
  assert.deepEqual(ends.filter((e) => e.address === a!.address).map((e) => [e.status, e.error]), [['busy', undefined]]);
  assert.equal((await withSession(lab.dovecot.cloud, a!.address, (c) => snapshot(c, 'INBOX'))).length, 0, 'the busy user was not touched');

  // Something else fails in the same run: exit 1 (a failed user), the busy one still just busy.
  const ghost = `ghost${Date.now()}-lease-cli@${lab.domain}`;
  writeConfig(lab, dir, [a!.address, b!.address, ghost]);
  const failing = await cli(['--config', config, 'migrate', 'run', '--json']);
  const fdoc = JSON.parse(failing.stdout) as RunJson;
  assert.equal(fdoc.users.find((u) => u.address === ghost)!.status, 'failed');
  assert.equal(fdoc.users.find((u) => u.address === a!.address)!.status, 'busy');
  assert.equal(failing.code, 1, `a failed user: exit 1 (${JSON.stringify(fdoc.users.find((u) => u.address === ghost)!.error)})`);
});
