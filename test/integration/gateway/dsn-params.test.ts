/**
 * RFC 3461 parameters passed on to the next hop (6.2): a recording smtp-server
 * that offers DSN (as Postfix does) sees NOTIFY and ORCPT on each RCPT, RET
 * and ENVID on MAIL, exactly as the client gave them to the gateway; a
 * recipient given without them is sent without them. The sink is an
 * smtp-server in the test, so this is a unit test of the wire, on real sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, dsnRecorder, smtpSystem, startGateway } from './helpers.js';

test('NOTIFY and ORCPT per recipient, RET and ENVID go on to a next hop that offers DSN', async (t) => {
  const sink = await dsnRecorder(t);
  const g = await startGateway(t, { people: { legacy: ['ann@example.com,Ann,', 'bob@example.com,Bob,'] }, systems: { legacy: smtpSystem(sink.port) } });
  const { client } = await RawClient.open(g.port);
  t.after(() => client.close());
  assert.match(await client.cmd('EHLO c.test'), /DSN/);
  assert.match(await client.cmd('MAIL FROM:<a@example.org> RET=HDRS ENVID=env+2B1'), /^250 /);
  assert.match(await client.cmd('RCPT TO:<ann@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ann+2Bold@example.net'), /^250 /);
  assert.match(await client.cmd('RCPT TO:<bob@example.com>'), /^250 /);
  assert.match(await client.cmd('DATA'), /^354 /);
  client.write('Subject: dsn\r\nMessage-ID: <dsn1@example.org>\r\n\r\nhi\r\n.\r\n');
  assert.match(await client.reply(), /^250 /);
  const end = Date.now() + 20_000;
  while (sink.seen.flatMap((s) => s.rcpts).length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const rcpts = sink.seen.flatMap((s) => s.rcpts);
  const ann = rcpts.find((r) => r.address === 'ann@example.com');
  const bob = rcpts.find((r) => r.address === 'bob@example.com');
  assert.ok(ann && bob, `both delivered: ${JSON.stringify(sink.seen)}`);
  assert.equal(ann.args.NOTIFY, 'SUCCESS,FAILURE');
  // smtp-server decodes xtext: encoded twice on the way, it would read "ann+2Bold".
  assert.equal(ann.args.ORCPT, 'rfc822;ann+old@example.net', 'ORCPT as the client gave it, encoded once');
  assert.equal(bob.args.ORCPT, undefined, 'no ORCPT made up for a recipient given without one');
  assert.equal(bob.args.NOTIFY, undefined);
  for (const s of sink.seen) {
    assert.equal(s.mail.RET, 'HDRS');
    assert.equal(s.mail.ENVID, 'env+1');
  }
});
