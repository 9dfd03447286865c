/**
 * Real backends: Dovecot LMTP answering per recipient (one unknown user of
 * three gets 550 5.1.1 after DATA: one DSN, two delivered, read back over
 * IMAP), Postfix as an SMTP backend, and a loop between two systems that
 * forward unknown users to each other through the gateway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { masterSession } from '../../harness/mail.js';
import { newMailUsers, useLab } from '../../harness/index.js';
import { sendRaw, smtpSystem, startGateway, startSink } from './helpers.js';

async function countByMessageId(lab: Awaited<ReturnType<typeof useLab>>, system: 'legacy' | 'cloud', address: string, mid: string): Promise<number> {
  const imap = await masterSession(lab.dovecot[system], address);
  try {
    await imap.mailboxOpen('INBOX');
    const uids = await imap.search({ header: { 'message-id': mid } }, { uid: true });
    return Array.isArray(uids) ? uids.length : 0;
  } finally {
    await imap.logout();
  }
}

async function eventually(fn: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('Dovecot LMTP refuses one recipient of three: one DSN for it, two delivered exactly once', async (t) => {
  const lab = await useLab(t, { only: ['postfix'] });
  const [u1, u2] = await newMailUsers(lab, 'legacy', 2, { local: 'gw' });
  const ghost = `ghost${randomBytes(4).toString('hex')}@example.com`;
  const dsns = await startSink(t);
  const g = await startGateway(t, {
    people: { legacy: [`${u1!.address},A,`, `${u2!.address},B,`, `${ghost},Ghost,`] },
    systems: { legacy: smtpSystem(lab.dovecot.legacy.lmtpPort, true) },
    gateway: { external: { host: '127.0.0.1', port: dsns.port, tls: 'none' } },
  });
  const mid = `<lmtp-${randomBytes(6).toString('hex')}@test>`;
  const r = await sendRaw(g.port, 'sender@example.org', [u1!.address, ghost, u2!.address], `Message-ID: ${mid}\r\nSubject: lmtp\r\n\r\nhello\r\n`);
  assert.match(r, /^250 /);
  await dsns.waitFor(1);
  const dsn = dsns.messages[0]!.body.toString('latin1');
  assert.match(dsn, new RegExp(`Final-Recipient: rfc822; ${ghost}\\r\\nAction: failed\\r\\nStatus: 5\\.1\\.1`));
  assert.doesNotMatch(dsn, new RegExp(u1!.address));
  await eventually(() => Promise.resolve(g.gw.spool.size === 0), 'queue empty');
  assert.equal(await countByMessageId(lab, 'legacy', u1!.address, mid), 1);
  assert.equal(await countByMessageId(lab, 'legacy', u2!.address, mid), 1);
  assert.equal(dsns.messages.length, 1);
});

test('Postfix as an SMTP backend: delivered into the mailbox behind it', async (t) => {
  const lab = await useLab(t, { only: ['postfix'] });
  const [u] = await newMailUsers(lab, lab.postfix!.deliversTo, 1, { local: 'gwpf' });
  const g = await startGateway(t, { people: { legacy: [`${u!.address},A,`] }, systems: { legacy: smtpSystem(lab.postfix!.smtpPort) } });
  const mid = `<pf-${randomBytes(6).toString('hex')}@test>`;
  assert.match(await sendRaw(g.port, 'sender@example.org', [u!.address], `Message-ID: ${mid}\r\nSubject: pf\r\n\r\nhello\r\n`), /^250 /);
  await eventually(async () => (await countByMessageId(lab, lab.postfix!.deliversTo, u!.address, mid)) === 1, 'delivered through Postfix', 60_000);
});

test('a loop between two systems that forward unknown users to each other stops with 5.4.6', async (t) => {
  // Each "system" takes the message and hands it back to the gateway, as a
  // system does that believes the user lives on the other side.
  let gatewayPort = 0;
  const forwarded: string[] = [];
  const forwarder = async (): Promise<ReturnType<typeof startSink>> => startSink(t);
  const legacy = await forwarder();
  const cloud = await forwarder();
  const g = await startGateway(t, {
    people: { legacy: ['wanderer@example.com,W,'] },
    systems: { legacy: smtpSystem(legacy.port), cloud: smtpSystem(cloud.port) },
    gateway: { routing: { mode: 'chaining', overflowSystem: 'cloud' } },
  });
  gatewayPort = g.port;
  const pump = async (sink: Awaited<ReturnType<typeof startSink>>, seen: { n: number }): Promise<void> => {
    while (seen.n < sink.messages.length) {
      const m = sink.messages[seen.n++]!;
      // legacy forwards to an unknown address (overflow: cloud), cloud forwards to the known one (legacy).
      const to = sink === legacy ? 'stranger@example.com' : 'wanderer@example.com';
      forwarded.push(await sendRaw(gatewayPort, m.from || 'a@example.org', [to], m.body.toString('latin1')));
    }
  };
  assert.match(await sendRaw(g.port, 'a@example.org', ['wanderer@example.com'], 'Message-ID: <loop2@test>\r\nSubject: loop\r\n\r\nx\r\n'), /^250 /);
  const seenL = { n: 0 };
  const seenC = { n: 0 };
  const end = Date.now() + 20_000;
  while (!forwarded.some((r) => r.startsWith('554')) && Date.now() < end) {
    await pump(legacy, seenL);
    await pump(cloud, seenC);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(forwarded.some((r) => r === '554 5.4.6 Mail forwarding loop detected'), `replies: ${forwarded.join(' | ')}`);
  assert.ok(legacy.messages.length + cloud.messages.length <= 4, `stopped after ${legacy.messages.length + cloud.messages.length} hops`);
});
