/**
 * `mailbridge serve` executes a scheduled wave (migration.waves with `at`): its
 * pre-cutover delta pass, then the cutover at the wave's time with serve's own
 * gateway acknowledging the holds, and the stored wave report. Mail sent
 * through serve's gateway afterwards lands in the new mailbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../../src/core/index.js';
import { openStore } from '../../../src/store/index.js';
import { delay, freePort, stopPid, useLab } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { sendRaw } from '../gateway/helpers.js';
import { msg, withSession } from '../migration/setup.js';
import { inbox, message, until } from './setup.js';

const bin = new URL('../../../bin/mailbridge.js', import.meta.url).pathname;
const lab = await useLab(undefined, { only: ['dovecot'] });

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args]);
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('exit', (code) => resolve({ code, out }));
  });
}

test('serve runs a scheduled wave: pre-delta pass, cutover at its time acknowledged by its gateway, report stored', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-serve-wave-'));
  const users = await newMigrationUsers(lab, 2, 'swave');
  for (const u of users) await withSession(lab.dovecot.legacy, u.address, async (c) => { await c.append('INBOX', msg('before'), []); });
  const [webPort, gatewayPort] = [await freePort(), await freePort()];
  const at = new Date(Date.now() + 20_000).toISOString();
  const sys = (s: 'legacy' | 'cloud') => `  ${s}:\n    smtp: { host: 127.0.0.1, port: ${lab.dovecot[s].lmtpPort}, protocol: lmtp, tls: none }\n`
    + `    imap: { host: 127.0.0.1, port: ${lab.dovecot[s].imapPort}, tls: none, admin: { user: ${lab.dovecot[s].masterUser}, password: "${lab.dovecot[s].masterPassword}" } }\n`;
  writeFileSync(join(dir, 'users.csv'), `address\n${users.map((u) => u.address).join('\n')}\n`);
  const config = join(dir, 'mailbridge.yaml');
  writeFileSync(config, `organization: Test\ndomains: [${lab.domain}]\nstore: { sqlite: ./state.db }\nsystems:\n${sys('legacy')}${sys('cloud')}`
    + `gateway:\n  listen: [{ host: 127.0.0.1, port: ${gatewayPort} }]\n  spool: ./spool\n  relayNetworks: [127.0.0.0/8]\n`
    + `migration:\n  from: legacy\n  to: cloud\n  users: ./users.csv\n  cutover: { settle: 0s }\n`
    + `  waves:\n    - { name: evening, at: "${at}", preDelta: 15s, users: [${users.map((u) => u.address).join(', ')}] }\n`
    + `web:\n  listen: { host: 127.0.0.1, port: ${webPort} }\n  users: [{ name: admin, passwordHash: "${await hashPassword('x')}" }]\n`);
  const store = await openStore({ sqlite: join(dir, 'state.db') });
  for (const u of users) await store.users.upsert({ address: u.address, homeSystem: 'legacy' });
  await store.close();
  const first = await run(['--config', config, 'migrate', 'run', '--json']);
  assert.equal(first.code, 0, first.out);
  // Mail since the first pass: the wave's pre-delta pass copies it.
  for (const u of users) await withSession(lab.dovecot.legacy, u.address, async (c) => { await c.append('INBOX', msg('since'), []); });

  const log = join(dir, 'serve.log');
  const serve: ChildProcess = spawn(process.execPath, [bin, '--config', config, 'serve'], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  t.after(() => stopPid(serve.pid!, 30_000));
  const check = await openStore({ sqlite: join(dir, 'state.db') });
  t.after(() => check.close());
  await until('the wave to finish', async () => ['done', 'failed'].includes((await check.cutover.waves())[0]?.status ?? ''), 180_000)
    .catch((err: unknown) => { throw new Error(`${String(err)}\n${readFileSync(log, 'utf8').slice(-3000)}`); });
  const [w] = await check.cutover.waves();
  const report = w!.report as { done: string[]; noLiveGateway: boolean; preDelta?: { ok: number } };
  assert.equal(w!.status, 'done', JSON.stringify(report));
  assert.equal(report.done.length, 2);
  assert.equal(report.noLiveGateway, false, 'serve\'s own gateway acknowledged the holds');
  assert.equal(report.preDelta?.ok, 2, 'the pre-cutover delta pass ran');
  assert.ok(w!.startedAt! >= Date.parse(at), 'not before the wave\'s time');
  for (const u of users) assert.equal((await check.users.get(u.address))?.homeSystem, 'cloud');
  const log1 = readFileSync(log, 'utf8');
  assert.match(log1, /"event":"cutover.wave.finished"/);

  const u = users[0]!.address;
  assert.match(await sendRaw(gatewayPort, 'x@example.org', [u], message(`after-wave.${u}`, [u], 1)), /^250 /);
  await until('delivery to the new mailbox', async () => (await inbox(lab.dovecot.cloud, u)).some((m) => m.messageId === `after-wave.${u}`), 30_000);
  await delay(10);
});
