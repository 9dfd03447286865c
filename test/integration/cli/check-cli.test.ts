/**
 * `mailbridge check` as an administrator runs it: the real binary against the
 * real lab. All green exits 0; a stopped server is named and exits 3; a bad
 * config exits 2 naming the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useLab, newMailUser, startDovecot, stopPid, labDir, type LabInfo } from '../../harness/index.js';
import { writeLabConfig } from '../../harness/lab-config.js';

const bin = new URL('../../../bin/mailbridge.js', import.meta.url).pathname;
const lab = await useLab();

function mailbridge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function configFor(l: LabInfo): Promise<string> {
  const legacy = await newMailUser(l, 'legacy', { local: 'probe' });
  const cloud = await newMailUser(l, 'cloud', { local: 'probe' });
  const dir = mkdtempSync(join(tmpdir(), 'mb-check-cli-'));
  return writeLabConfig(dir, l, { webPort: 18080, gatewayPort: 12525, passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==', literalSecrets: true, probeMailboxes: { legacy: legacy.address, cloud: cloud.address } });
}

test('check against the running lab: every endpoint green, exit 0', async () => {
  const file = await configFor(lab);
  const r = await mailbridge(['--config', file, 'check']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length >= 7, r.stdout);
  for (const line of lines) assert.match(line, /^✔ (legacy|cloud) +(smtp|lmtp|imap|ldap|caldav|users) /, line);
  assert.ok(!r.stdout.includes(lab.dovecot.legacy.masterPassword), 'no password in the output');

  const j = await mailbridge(['--config', file, 'check', '--json']);
  assert.equal(j.code, 0);
  const doc = JSON.parse(j.stdout) as { ok: boolean; results: { ok: boolean }[] };
  assert.equal(doc.ok, true);
  assert.equal(doc.results.length, lines.length);
});

test('stop one server: check names exactly its endpoints and exits 3', async (t) => {
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-check-stop-')));
  const priv = await startDovecot(dir, 'cloud');
  t.after(() => stopPid(priv.server.pid));
  const mixed: LabInfo = { ...lab, dovecot: { ...lab.dovecot, cloud: priv.info } };
  const file = await configFor(mixed);

  const before = await mailbridge(['--config', file, 'check', '--json']);
  assert.equal(before.code, 0, before.stdout + before.stderr);

  await stopPid(priv.server.pid);
  const after = await mailbridge(['--config', file, 'check']);
  assert.equal(after.code, 3, after.stdout + after.stderr);
  const failed = after.stdout.split('\n').filter((l) => l.startsWith('✘'));
  assert.deepEqual(failed.map((l) => l.split(/ +/).slice(1, 3).join(' ')).sort(), ['cloud imap', 'cloud lmtp']);
  for (const line of failed) {
    assert.match(line, /connection refused/);
    assert.ok(line.includes(String(priv.info.imapPort)) || line.includes(String(priv.info.lmtpPort)), line);
  }
});

test('a bad config exits 2 and names file, line and key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-check-bad-'));
  const file = join(dir, 'mailbridge.yaml');
  writeFileSync(file, 'organization: x\ndomains: [example.com]\nsystems:\n  legacy:\n    imap: { host: 127.0.0.1, port: 99999 }\n');
  const r = await mailbridge(['--config', file, 'check']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: systems\\.legacy\\.imap\\.port: `));
  assert.equal(r.stdout, '');
});
