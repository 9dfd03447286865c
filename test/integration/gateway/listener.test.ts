/**
 * The SMTP listener over real sockets: recipient validation, relay policy,
 * size, smuggling and malformed input, header firewall, loops, durability
 * errors. Backends are recording smtp-server sinks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MbError } from '../../../src/core/index.js';
import { connect } from 'node:net';
import { RawClient, sendRaw, smtpSystem, startGateway, startSink } from './helpers.js';

const PEOPLE = { legacy: ['ann@example.com,Ann,ann.alias@example.com', 'bob@example.com,Bob,'] };
const MSG = 'From: a@example.org\r\nTo: ann@example.com\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nHello\r\n';

test('EHLO offers PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN and SIZE with our limit; replies carry one enhanced code', async (t) => {
  const { port } = await startGateway(t, { people: PEOPLE });
  const { client, greeting } = await RawClient.open(port);
  t.after(() => client.close());
  assert.match(greeting, /^220 gw\.test /);
  const ehlo = await client.cmd('EHLO c.test');
  for (const f of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN', 'SIZE 1000000']) assert.match(ehlo, new RegExp(`250[ -]${f}\\b`));
  // RFC 2034: with ENHANCEDSTATUSCODES announced, every 2xx/4xx/5xx reply carries exactly one code.
  assert.match(await client.cmd('MAIL FROM:<a@example.org>'), /^250 2\.1\.0 [A-Za-z]/);
  assert.match(await client.cmd('RCPT TO:<ann@example.com>'), /^250 2\.1\.5 [A-Za-z]/);
  assert.match(await client.cmd('RSET'), /^250 2\.0\.0 [A-Za-z]/);
  assert.doesNotMatch(ehlo, /STARTTLS/, 'no certificate configured');
});

test('greeting: at once by default (a client that talks first is served, not told 421), after gateway.greetPause when set', async (t) => {
  const { port } = await startGateway(t, { people: PEOPLE });
  // EHLO written together with the connect, before any greeting could arrive. smtp-server's own
  // 100 ms early-talker pause answered this with "421 You talk too soon"; we greet at once.
  const early = RawClient.wrap(connect(port, '127.0.0.1'));
  t.after(() => early.close());
  early.write('EHLO early.test\r\n');
  assert.match(await early.reply(), /^220 gw\.test /);
  assert.match(await early.reply(), /^250-gw\.test/);

  const paused = await startGateway(t, { people: PEOPLE, gateway: { greetPause: 400 } });
  const t0 = performance.now();
  const { client, greeting } = await RawClient.open(paused.port);
  t.after(() => client.close());
  assert.match(greeting, /^220 /);
  assert.ok(performance.now() - t0 >= 380, `greeted after ${(performance.now() - t0).toFixed(0)} ms, pause is 400 ms`);
  // An early talker under a pause is refused, as with Sendmail's greet_pause.
  const rude = RawClient.wrap(connect(paused.port, '127.0.0.1'));
  t.after(() => rude.close());
  rude.write('EHLO rude.test\r\n');
  assert.match(await rude.reply(), /^421 .*too soon/i);
});

test('RCPT: known and alias 250, unknown 550 5.1.1, relay refused from outside relayNetworks, relay tricks refused', async (t) => {
  const { port } = await startGateway(t, { people: PEOPLE, gateway: { relayNetworks: ['10.0.0.0/8'] } });
  const { client } = await RawClient.open(port);
  t.after(() => client.close());
  await client.cmd('EHLO c.test');
  assert.match(await client.cmd('MAIL FROM:<a@example.org>'), /^250/);
  assert.match(await client.cmd('RCPT TO:<ann@example.com>'), /^250/);
  assert.match(await client.cmd('RCPT TO:<Ann.Alias@example.com>'), /^250/);
  assert.equal(await client.cmd('RCPT TO:<nobody@example.com>'), '550 5.1.1 Recipient address rejected: User unknown');
  assert.equal(await client.cmd('RCPT TO:<x@other.org>'), '554 5.7.1 Relay access denied');
  for (const trick of ['user%other.org@example.com', '"user@other.org"@example.com', '@example.com:user@other.org', 'other.org!user@example.com', 'user@other.org@example.com']) {
    const r = await client.cmd(`RCPT TO:<${trick}>`);
    assert.match(r, /^(554 5\.7\.1|501 5\.1\.3)/, `${trick}: ${r}`);
  }
});

test('relay from relayNetworks to other domains is allowed', async (t) => {
  const { port } = await startGateway(t, { people: PEOPLE });
  assert.match(await sendRaw(port, 'a@example.com', ['x@other.org'], MSG), /^250 2\.0\.0 Ok: queued as [0-9A-Z]{19}$/);
});

test('directory down at RCPT answers 451 4.3.0, never 5xx', async (t) => {
  const resolver = { source: 'broken', resolve: () => Promise.reject(new MbError('GATEWAY_DIRECTORY_UNAVAILABLE', 'ldap down', { retry: 'transient' })) };
  const { port } = await startGateway(t, { resolver });
  assert.equal(await sendRaw(port, 'a@example.org', ['ann@example.com'], MSG), '451 4.3.0 Local error, try again later');
});

test('size: SIZE= over the limit at MAIL and a bigger message at DATA get 552 5.3.4', async (t) => {
  const { port } = await startGateway(t, { people: PEOPLE, gateway: { maxMessageSize: 2000 } });
  const { client } = await RawClient.open(port);
  t.after(() => client.close());
  await client.cmd('EHLO c.test');
  assert.equal(await client.cmd('MAIL FROM:<a@example.org> SIZE=5000'), '552 5.3.4 Message size exceeds fixed limit');
  const big = `Subject: big\r\n\r\n${'x'.repeat(80)}\r\n`.repeat(40);
  assert.match(await sendRaw(port, 'a@example.org', ['ann@example.com'], big), /^552 5\.3\.4 /);
});

test('smuggling: "\\n.\\n" does not end DATA; the whole message is refused for its bare LF and nothing is queued', async (t) => {
  const sink = await startSink(t);
  const g = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(sink.port) } });
  const { client } = await RawClient.open(g.port);
  t.after(() => client.close());
  await client.cmd('EHLO c.test');
  await client.cmd('MAIL FROM:<a@example.org>');
  await client.cmd('RCPT TO:<ann@example.com>');
  assert.match(await client.cmd('DATA'), /^354/);
  client.write('Subject: s\r\n\r\nbody\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n');
  assert.equal(await client.reply(), '550 5.5.2 Error: bare <LF> received');
  assert.match(await client.cmd('NOOP'), /^250/, 'the session is in step: the smuggled commands were data');
  assert.equal(g.gw.spool.size, 0);
  // And "\r.\r" the same way.
  assert.equal(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], 'Subject: s\r\n\r\nbody\r.\rRSET\r\n'), '550 5.5.2 Error: bare <CR> received');
});

test('malformed input: NUL, a long text line, a long command line, a long local part', async (t) => {
  const { port } = await startGateway(t, { people: PEOPLE });
  assert.equal(await sendRaw(port, 'a@example.org', ['ann@example.com'], 'Subject: n\r\n\r\na\0b\r\n'), '554 5.6.0 Message content rejected: NUL character');
  assert.equal(await sendRaw(port, 'a@example.org', ['ann@example.com'], `Subject: l\r\n\r\n${'y'.repeat(999)}\r\n`), '500 5.5.2 Line too long');
  assert.match(await sendRaw(port, 'a@example.org', ['ann@example.com'], `Subject: l\r\n\r\n${'y'.repeat(998)}\r\n`), /^250 /);
  const { client } = await RawClient.open(port);
  t.after(() => client.close());
  await client.cmd('EHLO c.test');
  assert.match(await client.cmd(`RCPT TO:<${'a'.repeat(65)}@example.com>`), /^(501 5\.1\.3|503)/);
  await client.cmd('MAIL FROM:<a@example.org>');
  assert.match(await client.cmd(`RCPT TO:<${'a'.repeat(65)}@example.com>`), /^501 5\.1\.3 Bad recipient address syntax/);
  assert.equal(await client.cmd(`NOOP ${'z'.repeat(600)}`), '500 5.5.2 Line too long');
});

test('header firewall: X-Mailbridge-* stripped from untrusted clients, all else byte for byte, our Received on top', async (t) => {
  const sink = await startSink(t);
  const g = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(sink.port) }, gateway: { relayNetworks: ['10.0.0.0/8'] } });
  const original = 'DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\nX-Mailbridge-Route: forged\r\nFrom: a@example.org\r\nMessage-ID: <fw@x>\r\n\r\nbody \xe9\r\nX-Mailbridge-Route: in the body stays\r\n';
  assert.match(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], original), /^250 /);
  await sink.waitFor(1);
  const got = sink.messages[0]!.body.toString('latin1');
  const lines = got.split('\r\n');
  assert.match(lines[0]!, /^X-Mailbridge-Hop: gw\.test; route=[0-9a-f]+; t=\d+; sig=[0-9a-f]{32}$/);
  assert.match(lines[1]!, /^Received: from client\.test \(/);
  const afterOurs = got.slice(got.indexOf('DKIM-Signature'));
  assert.equal(afterOurs, original.replace('X-Mailbridge-Route: forged\r\n', ''));
});

test('loops: too many Received headers, or our signed hop header seen twice for the route, get 554 5.4.6', async (t) => {
  const sink = await startSink(t);
  const g = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(sink.port) }, gateway: { hopLimit: 5 } });
  const hops = 'Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n'.repeat(5);
  assert.equal(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], `${hops}Subject: loop\r\n\r\nx\r\n`), '554 5.4.6 Error: too many hops');
  // Round trip: what the backend got comes back twice.
  let msg = 'Message-ID: <loop@x>\r\nSubject: loop\r\n\r\nx\r\n';
  for (let i = 0; i < 2; i++) {
    assert.match(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], msg), /^250 /);
    await sink.waitFor(i + 1);
    msg = sink.messages[i]!.body.toString('latin1');
  }
  assert.equal(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], msg), '554 5.4.6 Mail forwarding loop detected');
});

test('a spool that cannot be written answers 451 4.3.0, never 250 or 5xx', async (t) => {
  const g = await startGateway(t, { people: PEOPLE });
  // Messages are appended to segments in queue/: a file in its place makes every write fail.
  rmSync(join(g.spoolDir, 'queue'), { recursive: true });
  writeFileSync(join(g.spoolDir, 'queue'), 'not a folder');
  assert.equal(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], MSG), '451 4.3.0 Local error, try again later');
  assert.equal(g.gw.spool.size, 0);
});

test('DSN parameters (NOTIFY, ORCPT, RET, ENVID) are kept with the message and its recipients', async (t) => {
  const g = await startGateway(t, { people: PEOPLE });
  g.gw.engine.stop().catch(() => undefined);
  const { client } = await RawClient.open(g.port);
  t.after(() => client.close());
  await client.cmd('EHLO c.test');
  assert.match(await client.cmd('MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ+2B1 BODY=8BITMIME'), /^250/);
  assert.match(await client.cmd('RCPT TO:<ann@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;ann+2Bx@example.com'), /^250/);
  assert.match(await client.cmd('RCPT TO:<bob@example.com> NOTIFY=NEVER'), /^250/);
  await client.cmd('DATA');
  client.write(`${MSG}.\r\n`);
  const r = await client.reply();
  const id = /queued as (\S+)/.exec(r)![1]!;
  const m = g.gw.spool.get(id)!;
  assert.equal(m.envelope.ret, 'HDRS');
  assert.equal(m.envelope.envid, 'QQ+1');
  assert.equal(m.envelope.bodyType, '8bitmime');
  assert.deepEqual(m.envelope.recipients, [
    { address: 'ann@example.com', notify: ['FAILURE', 'DELAY'], orcpt: 'rfc822;ann+2Bx@example.com' },
    { address: 'bob@example.com', notify: ['NEVER'] },
  ]);
});
