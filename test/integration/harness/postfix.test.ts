/**
 * The lab's Postfix: a message sent to its smtpd arrives, body intact, in a real
 * lab Dovecot over LMTP; stopping it leaves no Postfix process behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { delay, isAlive, labDir, labUser, stopPid } from '../../harness/process.js';
import { startDovecot } from '../../harness/dovecot.js';
import { groupMembers, startPostfix, stopPostfix } from '../../harness/postfix.js';
import type { DovecotInfo, PostfixInfo, ServerRecord } from '../../harness/types.js';

/** Polls INBOX (delivery goes through Postfix's queue, so it is asynchronous). */
async function waitForMessage(info: DovecotInfo, user: string, password: string, timeoutMs = 20_000): Promise<string> {
  const client = new ImapFlow({ host: '127.0.0.1', port: info.imapPort, secure: false, auth: { user, pass: password }, logger: false });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const status = await client.status('INBOX', { messages: true });
      if (status && (status.messages ?? 0) > 0) {
        await client.mailboxOpen('INBOX');
        const msg = await client.fetchOne('1', { source: true });
        if (msg && msg.source) return msg.source.toString('utf8');
      }
      await delay(50);
    }
    throw new Error(`no message for ${user} within ${timeoutMs} ms`);
  } finally {
    await client.logout();
  }
}

describe('lab postfix', { skip: labUser().root ? false : 'Postfix\'s master must start as root' }, () => {
  // labDir: the lab user must be able to enter the (root-owned, 0700) temp dir.
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-postfix-')));
  let dovecot: { info: DovecotInfo; server: ServerRecord } | undefined;
  let postfix: { info: PostfixInfo; server: ServerRecord } | undefined;

  before(async () => {
    dovecot = await startDovecot(dir, 'legacy');
    const t0 = Date.now();
    postfix = await startPostfix(dir, dovecot.info);
    console.log(`postfix ready in ${Date.now() - t0} ms on port ${postfix.info.smtpPort}`);
  });

  after(async () => {
    if (postfix) await stopPostfix(postfix.info, postfix.server);
    if (dovecot) await stopPid(dovecot.server.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  void it('delivers a message for example.com into Dovecot over LMTP, body intact', async () => {
    const { info: dc } = dovecot!;
    const address = `pf-${randomBytes(4).toString('hex')}@example.com`;
    const password = randomBytes(9).toString('hex');
    appendFileSync(dc.passwdFile, `${address}:{PLAIN}${password}::::::\n`);
    const body = `Zoë's report\r\nline two with a dot:\r\n.\r\n..leading dots survive\r\n${'x'.repeat(2000)}\r\n`;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: postfix!.info.smtpPort, secure: false, ignoreTLS: true });
    const sent = await transport.sendMail({
      from: 'sender@elsewhere.test', to: address, subject: 'lab postfix test',
      text: body, textEncoding: 'quoted-printable',
    });
    assert.deepEqual(sent.accepted, [address]);

    const source = await waitForMessage(dc, address, password);
    assert.match(source, /^Received: from .*backend\.lab\.test/m);
    assert.ok(source.includes(sent.messageId), 'Message-ID kept');
    const { simpleParser } = await import('mailparser');
    const parsed = await simpleParser(source);
    assert.equal(parsed.text, body.replace(/\r\n/g, '\n'));
  });

  void it('stops: the master PID and all its daemons are gone', async () => {
    const { info, server } = postfix!;
    assert.ok(groupMembers(server.pid).length > 1, 'master and some daemons run');
    await stopPostfix(info, server);
    assert.equal(isAlive(server.pid), false);
    assert.deepEqual(groupMembers(server.pid), []);
    postfix = undefined;
  });
});
