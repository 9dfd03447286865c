/**
 * `mailbridge serve` (the binary) stops gracefully: SIGTERM while messages are
 * being submitted through its gateway, probes and checks run and a console
 * event stream is open. It exits 0 within 30 s, logs service.stopped, and every
 * message that got a 250 is either in the recipient's mailbox or still in the
 * spool (nothing lost).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { hashPassword } from '../../../src/core/index.js';
import { Spool } from '../../../src/spool/index.js';
import { delay, freePort, newMailUser, useLab } from '../../harness/index.js';
import { writeLabConfig } from '../../harness/lab-config.js';

const bin = new URL('../../../bin/mailbridge.js', import.meta.url).pathname;
const lab = await useLab(undefined, { only: ['dovecot'] });

async function sendOne(port: number, to: string, i: number): Promise<boolean> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, connectionTimeout: 5000, socketTimeout: 10_000 });
  conn.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => { conn.once('error', reject); conn.connect(() => resolve()); });
    const body = `From: <sender@example.org>\r\nTo: <${to}>\r\nSubject: shutdown ${i}\r\nMessage-ID: <shutdown-${i}-${Date.now()}@example.org>\r\n\r\nbody ${i}\r\n`;
    await new Promise<void>((resolve, reject) => conn.send({ from: 'sender@example.org', to: [to] }, body, (err) => (err ? reject(err) : resolve())));
    conn.quit();
    return true;
  } catch {
    conn.close();
    return false;
  }
}

test('SIGTERM during activity: serve exits 0 within 30 s and loses no accepted message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-serve-stop-'));
  const rcpt = await newMailUser(lab, 'cloud', { local: 'stop' });
  const probe = await newMailUser(lab, 'cloud', { local: 'probe' });
  const webPort = await freePort();
  const gatewayPort = await freePort();
  const file = writeLabConfig(join(dir, 'mb'), lab, {
    webPort, gatewayPort, passwordHash: await hashPassword('x'), literalSecrets: true, probeMailboxes: { cloud: probe.address },
  }, [{ address: rcpt.address, name: 'Stop Test', system: 'cloud' }]);
  // A delta schedule too, so serve has that timer to stop as well.
  writeFileSync(file, readFileSync(file, 'utf8').replace('  users: ./migration-users.csv', '  users: ./migration-users.csv\n  schedule: "02:00, 14:00"'));
  const log = join(dir, 'serve.log');
  const child = spawn(process.execPath, [bin, '--config', file, 'serve'], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  try {
    const deadline = Date.now() + 30_000;
    while (!(await fetch(`http://127.0.0.1:${webPort}/readyz`).then((r) => r.ok, () => false))) {
      assert.ok(Date.now() < deadline, `serve not ready:\n${readFileSync(log, 'utf8').slice(-2000)}`);
      await delay(100);
    }
    // Wait until the gateway listens (it starts after the web server).
    while (!readFileSync(log, 'utf8').includes('"service.ready"')) await delay(50);

    // Activity: submissions in flight while the signal arrives.
    let accepted = 0;
    const senders = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 15; i++) {
        if (await sendOne(gatewayPort, rcpt.address, w * 100 + i)) accepted++;
        else return;
      }
    });
    while (accepted < 5) await delay(10);
    const sentAt = Date.now();
    child.kill('SIGTERM');
    await Promise.all(senders);
    const { code, at } = await Promise.race([exited, delay(35_000).then(() => ({ code: -1, at: Date.now() }))]);
    const text = readFileSync(log, 'utf8');
    assert.equal(code, 0, text.slice(-3000));
    assert.ok(at - sentAt < 30_000, `exit took ${at - sentAt} ms`);
    assert.match(text, /"event":"service.stopping"/);
    assert.match(text, /"event":"service.stopped"/);

    // Nothing lost: every accepted message is delivered or still queued.
    const { spool } = await Spool.open(join(dir, 'mb', 'var', 'spool'));
    const queued = spool.list().filter((m) => m.envelope.recipients.some((r) => r.address === rcpt.address)).length;
    const c = new ImapFlow({ host: '127.0.0.1', port: lab.dovecot.cloud.imapPort, secure: false, doSTARTTLS: false, auth: { user: rcpt.address, pass: rcpt.password }, logger: false });
    await c.connect();
    const st = await c.status('INBOX', { messages: true });
    const delivered = st ? st.messages ?? 0 : 0;
    await c.logout();
    assert.equal(delivered + queued, accepted, `accepted ${accepted}, delivered ${delivered}, queued ${queued}`);
    t.diagnostic(`accepted ${accepted}, delivered ${delivered}, queued ${queued}; exit ${at - sentAt} ms after SIGTERM`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
