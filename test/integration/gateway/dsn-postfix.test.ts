/**
 * RFC 3461 parameters through a real Postfix next hop (issue 4: "DSN ... ORCPT
 * kept with each recipient"). dsn-params.test.ts shows what the gateway puts
 * on the wire to an smtp-server; here the next hop is Postfix 3.7, so the
 * parameters must survive Postfix's own parser and queue:
 *
 * 1. The lab's Postfix (delivering example.com over LMTP into a Dovecot that
 *    offers no DSN) answers NOTIFY=SUCCESS with its own success DSN to the
 *    sender. That report carries Original-Envelope-Id (ENVID), Original-Recipient
 *    (ORCPT), only the headers (RET=HDRS), and nothing for the recipient that
 *    asked for no success notice.
 * 2. A second Postfix of the same harness, whose LMTP next hop is a recording
 *    server that offers DSN: Postfix passes NOTIFY, ORCPT, RET and ENVID on,
 *    exactly as the client gave them to the gateway (for a recipient given
 *    without ORCPT, Postfix sends its own record of the RCPT address).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { masterSession } from '../../harness/mail.js';
import { newMailUsers, startPostfix, stopPostfix, useLab, type DovecotInfo, type LabInfo } from '../../harness/index.js';
import { RawClient, dsnRecorder, smtpSystem, startGateway, tempDir } from './helpers.js';

/** One message with DSN parameters: rcpts[0] with NOTIFY=SUCCESS,FAILURE and ORCPT, rcpts[1] without either. */
async function sendWithDsn(port: number, from: string, rcpts: [string, string], orcptXtext: string, envidXtext: string, mid: string): Promise<void> {
  const { client } = await RawClient.open(port);
  try {
    assert.match(await client.cmd('EHLO c.test'), /DSN/);
    assert.match(await client.cmd(`MAIL FROM:<${from}> RET=HDRS ENVID=${envidXtext}`), /^250 /);
    assert.match(await client.cmd(`RCPT TO:<${rcpts[0]}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;${orcptXtext}`), /^250 /);
    assert.match(await client.cmd(`RCPT TO:<${rcpts[1]}>`), /^250 /);
    assert.match(await client.cmd('DATA'), /^354 /);
    client.write(`Subject: dsn through postfix\r\nMessage-ID: ${mid}\r\n\r\nBODY-MARKER-${mid}\r\n.\r\n`);
    assert.match(await client.reply(), /^250 /);
    await client.cmd('QUIT').catch(() => '');
  } finally {
    client.close();
  }
}

/** Full sources of the INBOX messages of ADDRESS whose source matches `match`. */
async function inboxSources(info: DovecotInfo, address: string, match: RegExp): Promise<string[]> {
  const imap = await masterSession(info, address);
  try {
    const box = await imap.mailboxOpen('INBOX');
    if (box.exists === 0) return [];
    const out: string[] = [];
    for await (const m of imap.fetch('1:*', { source: true })) {
      const s = m.source?.toString('latin1') ?? '';
      if (match.test(s)) out.push(s);
    }
    return out;
  } finally {
    await imap.logout();
  }
}

async function eventually<T>(fn: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('Postfix as next hop gets NOTIFY, ORCPT, ENVID and RET: its success DSN carries them back', async (t) => {
  const lab: LabInfo = await useLab(t, { only: ['postfix'] });
  const pf = lab.postfix!;
  const system = lab.dovecot[pf.deliversTo];
  const [sender, ann, bob] = await newMailUsers(lab, pf.deliversTo, 3, { local: 'dsnpf' });
  const g = await startGateway(t, {
    people: { legacy: [`${ann!.address},Ann,`, `${bob!.address},Bob,`] },
    systems: { legacy: smtpSystem(pf.smtpPort) },
  });
  const tag = randomBytes(4).toString('hex');
  const mid = `<dsnpf-${tag}@test>`;
  // xtext on the wire: "+2B" is "+"; Postfix must decode it once, as the client meant it.
  await sendWithDsn(g.port, sender!.address, [ann!.address, bob!.address], `ann+2Bold-${tag}@example.net`, `env+2B${tag}`, mid);

  // Both recipients delivered through Postfix into their mailboxes.
  for (const u of [ann!, bob!]) {
    await eventually(async () => ((await inboxSources(system, u.address, new RegExp(`BODY-MARKER-${mid}`))).length === 1 ? true : undefined), `delivered to ${u.address}`);
  }
  // Postfix's success DSN (Dovecot's LMTP offers no DSN, so Postfix reports "delivered" or "relayed" itself).
  const dsn = await eventually(async () => (await inboxSources(system, sender!.address, /multipart\/report/i))[0], 'Postfix success DSN in the sender\'s INBOX');
  assert.match(dsn, /^From: MAIL DELIVERY SYSTEM <MAILER-DAEMON@backend\.lab\.test>/im, 'the DSN comes from the lab Postfix');
  assert.match(dsn, /report-type=delivery-status/i);
  assert.match(dsn, new RegExp(`^Original-Envelope-Id: env\\+${tag}\\r?$`, 'm'), 'ENVID reached Postfix, decoded once');
  assert.match(dsn, new RegExp(`^Final-Recipient: rfc822; ?${ann!.address}\\r?$`, 'm'));
  assert.match(dsn, new RegExp(`^Original-Recipient: rfc822; ?ann\\+old-${tag}@example\\.net\\r?$`, 'm'), 'ORCPT reached Postfix, decoded once');
  assert.match(dsn, /^Action: (delivered|relayed)\r?$/m, 'NOTIFY=SUCCESS reached Postfix');
  // RET=HDRS: the original comes back as headers only.
  assert.match(dsn, /Content-Type: text\/rfc822-headers/i, 'RET=HDRS reached Postfix');
  assert.match(dsn, new RegExp(`Message-ID: ${mid}`));
  assert.doesNotMatch(dsn, new RegExp(`BODY-MARKER-`), 'no body returned with RET=HDRS');
  // bob asked for nothing (default NOTIFY is FAILURE only): Postfix must not report him.
  assert.doesNotMatch(dsn, new RegExp(bob!.address.replace(/[.]/g, '\\.')));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await inboxSources(system, sender!.address, /multipart\/report/i)).length, 1, 'one success DSN only');
});

test('Postfix relays NOTIFY, ORCPT, RET and ENVID from the gateway on to a DSN-capable next hop unchanged', async (t) => {
  const lab: LabInfo = await useLab(t, { only: ['postfix'] });
  const sink = await dsnRecorder(t, { lmtp: true });
  // A Postfix of our own, built by the lab harness, whose LMTP next hop is the recording sink.
  const dir = tempDir(t, 'mb-pf-dsn-');
  const fakeTarget: DovecotInfo = { ...lab.dovecot.legacy, lmtpPort: sink.port };
  const pf = await startPostfix(dir, fakeTarget);
  t.after(() => stopPostfix(pf.info, pf.server));
  const tag = randomBytes(4).toString('hex');
  const ann = `ann-${tag}@example.com`;
  const bob = `bob-${tag}@example.com`;
  const g = await startGateway(t, {
    people: { legacy: [`${ann},Ann,`, `${bob},Bob,`] },
    systems: { legacy: smtpSystem(pf.info.smtpPort) },
  });
  await sendWithDsn(g.port, 'sender@example.org', [ann, bob], `ann+2Bold-${tag}@example.net`, `env+2B${tag}`, `<dsnrelay-${tag}@test>`);
  await eventually(async () => (sink.seen.flatMap((s) => s.rcpts).length >= 2 ? true : undefined), 'Postfix delivered both to the sink');
  const rcpts = sink.seen.flatMap((s) => s.rcpts);
  const a = rcpts.find((r) => r.address === ann);
  const b = rcpts.find((r) => r.address === bob);
  assert.ok(a && b, JSON.stringify(sink.seen));
  assert.equal(a.args.NOTIFY, 'SUCCESS,FAILURE');
  // smtp-server decodes xtext: what the sink reads is what the client meant, so nothing was encoded twice on the way.
  assert.equal(a.args.ORCPT, `rfc822;ann+old-${tag}@example.net`);
  // Postfix itself sends its record of the original recipient (the RCPT address) as ORCPT when the
  // client gave none (dsn-params.test.ts shows the gateway sends none); never ann's ORCPT.
  assert.ok(b.args.ORCPT === undefined || b.args.ORCPT === `rfc822;${bob}`, `bob ORCPT ${String(b.args.ORCPT)}`);
  assert.ok(b.args.NOTIFY === undefined || b.args.NOTIFY === 'FAILURE', `bob NOTIFY ${String(b.args.NOTIFY)} (absent, or Postfix's explicit default)`);
  for (const s of sink.seen) {
    assert.equal(s.mail.RET, 'HDRS');
    assert.equal(s.mail.ENVID, `env+${tag}`);
  }
});
