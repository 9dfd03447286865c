/**
 * Delivery over real sockets to recording smtp-server sinks: several
 * recipients per transaction and connection reuse, per-recipient refusals,
 * retries, delay and failure DSNs, expiry, restart without re-delivery, queue
 * control and the pickup folder.
 */
import { freePort } from '../../harness/process.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { sendRaw, smtpSystem, startGateway, startSink, type AfterHost } from './helpers.js';

const MSG = (id: string): string => `From: a@example.org\r\nTo: ann@example.com\r\nSubject: t\r\nMessage-ID: <${id}@example.org>\r\n\r\nHello\r\n`;
const PEOPLE = { legacy: ['ann@example.com,Ann,', 'bob@example.com,Bob,', 'cid@example.com,Cid,'] };


async function until(what: string, fn: () => boolean, t: AfterHost, timeoutMs = 20_000): Promise<void> {
  void t;
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('three recipients go in one transaction; later messages reuse the connection; the spool empties', async (t) => {
  const sink = await startSink(t);
  const g = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(sink.port) } });
  assert.match(await sendRaw(g.port, 'a@example.org', ['ann@example.com', 'bob@example.com', 'cid@example.com'], MSG('m1')), /^250 /);
  await sink.waitFor(1);
  assert.deepEqual(sink.messages[0]!.to, ['ann@example.com', 'bob@example.com', 'cid@example.com']);
  for (let i = 2; i <= 5; i++) {
    assert.match(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], MSG(`m${i}`)), /^250 /);
    await sink.waitFor(i);
  }
  assert.equal(sink.connections, 1, 'one connection for five sequential messages');
  await until('the spool to empty', () => g.gw.spool.size === 0, t);
});

test('a 5xx for one recipient of three: one failure DSN naming it, two delivered', async (t) => {
  const sink = await startSink(t, { refuse: (r) => (r.startsWith('bob@') ? '550 5.1.1 <bob@example.com>: no such user' : undefined) });
  const dsns = await startSink(t);
  const g = await startGateway(t, {
    people: PEOPLE, systems: { legacy: smtpSystem(sink.port) },
    gateway: { external: { host: '127.0.0.1', port: dsns.port, tls: 'none' } },
  });
  assert.match(await sendRaw(g.port, 'a@example.org', ['ann@example.com', 'bob@example.com', 'cid@example.com'], MSG('p1')), /^250 /);
  await sink.waitFor(1);
  await dsns.waitFor(1);
  assert.deepEqual(sink.messages[0]!.to, ['ann@example.com', 'cid@example.com']);
  const dsn = dsns.messages[0]!;
  assert.equal(dsn.from, '', 'DSN from the null sender');
  assert.deepEqual(dsn.to, ['a@example.org']);
  const text = dsn.body.toString('latin1');
  assert.match(text, /Content-Type: multipart\/report; report-type=delivery-status/);
  assert.match(text, /Final-Recipient: rfc822; bob@example.com\r\nAction: failed\r\nStatus: 5\.1\.1/);
  assert.match(text, /Diagnostic-Code: smtp; 550 5\.1\.1/);
  assert.doesNotMatch(text, /Final-Recipient: rfc822; (ann|cid)@/);
  await until('the spool to empty', () => g.gw.spool.size === 0, t);
  assert.equal(dsns.messages.length, 1);
});

test('backend down: queued and retried, a delay DSN after warnAfter, delivered once it is back', async (t) => {
  const port = await freePort();
  const dsns = await startSink(t);
  const g = await startGateway(t, {
    people: PEOPLE, systems: { legacy: smtpSystem(port) },
    gateway: { external: { host: '127.0.0.1', port: dsns.port, tls: 'none' }, retry: { schedule: [200], maxAge: 60_000, warnAfter: 600 } },
  });
  const r = await sendRaw(g.port, 'a@example.org', ['ann@example.com'], MSG('d1'));
  const id = /queued as (\S+)/.exec(r)![1]!;
  await dsns.waitFor(1);
  const text = dsns.messages[0]!.body.toString('latin1');
  assert.match(text, /Action: delayed\r\nStatus: 4\./);
  assert.match(text, /Will-Retry-Until: /);
  const m = g.gw.spool.get(id)!;
  assert.equal(m.recipients[0]!.status, 'deferred');
  assert.ok(m.recipients[0]!.attempts >= 2, `attempts ${m.recipients[0]!.attempts}`);
  const sink = await startSink(t, { port });
  await sink.waitFor(1);
  await until('the spool to empty', () => g.gw.spool.size === 0, t);
  assert.equal(dsns.messages.length, 1, 'one delay DSN, no failure DSN');
});

test('maxAge: a recipient still deferred then bounces with 5.4.7; no DSN to a null sender', async (t) => {
  const port = await freePort();
  const dsns = await startSink(t);
  const g = await startGateway(t, {
    people: PEOPLE, systems: { legacy: smtpSystem(port) },
    gateway: { external: { host: '127.0.0.1', port: dsns.port, tls: 'none' }, retry: { schedule: [150], maxAge: 700, warnAfter: 60_000 } },
  });
  await sendRaw(g.port, 'a@example.org', ['ann@example.com'], MSG('x1'));
  await sendRaw(g.port, '', ['bob@example.com'], MSG('x2'));
  await dsns.waitFor(1);
  assert.match(dsns.messages[0]!.body.toString('latin1'), /Final-Recipient: rfc822; ann@example.com\r\nAction: failed\r\nStatus: 5\.4\.7/);
  await until('the spool to empty', () => g.gw.spool.size === 0, t);
  assert.equal(dsns.messages.length, 1, 'the null-sender message bounced silently');
});

test('restart: a recipient delivered before the stop is not delivered again; the deferred one is', async (t) => {
  let refuseCid = true;
  const sink = await startSink(t, { refuse: (r) => (r.startsWith('cid@') && refuseCid ? '451 4.2.0 try later' : undefined) });
  const first = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(sink.port) }, gateway: { retry: { schedule: [200], maxAge: 60_000, warnAfter: 60_000 } } });
  await sendRaw(first.port, 'a@example.org', ['ann@example.com', 'cid@example.com'], MSG('r1'));
  await sink.waitFor(1);
  await first.stop();
  refuseCid = false;
  const second = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(sink.port) }, spool: first.spoolDir });
  await sink.waitFor(2);
  await until('the spool to empty', () => second.gw.spool.size === 0, t);
  assert.deepEqual(sink.messages.map((m) => m.to), [['ann@example.com'], ['cid@example.com']]);
});

test('queue control: a held message stays until released; the control folder reaches the running gateway', async (t) => {
  const port = await freePort();
  const g = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(port) }, gateway: { retry: { schedule: [100], maxAge: 60_000, warnAfter: 60_000 } } });
  const id = /queued as (\S+)/.exec(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], MSG('h1')))![1]!;
  await g.gw.spool.writeControl({ op: 'hold', id });
  await until('the hold to apply', () => g.gw.spool.get(id)?.held === true, t);
  const sink = await startSink(t, { port });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(sink.messages.length, 0, 'held: not delivered');
  await g.gw.spool.writeControl({ op: 'release', id });
  await sink.waitFor(1);
});

test('pickup folder: X-Sender / X-Receiver make the envelope and are removed', async (t) => {
  const sink = await startSink(t);
  const dir = join((await import('node:os')).tmpdir(), `mb-pickup-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  t.after(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  const g = await startGateway(t, { people: PEOPLE, systems: { legacy: smtpSystem(sink.port) }, gateway: { pickup: dir } });
  writeFileSync(join(dir, 'one.eml'), 'X-Sender: app@example.com\nX-Receiver: <bob@example.com>\nX-Receiver: cid@example.com\nSubject: from a file\n\nbody\n');
  assert.equal(await g.gw.scanPickupOnce(), 1);
  await sink.waitFor(1);
  assert.equal(sink.messages[0]!.from, 'app@example.com');
  assert.deepEqual(sink.messages[0]!.to, ['bob@example.com', 'cid@example.com']);
  const body = sink.messages[0]!.body.toString('latin1');
  assert.doesNotMatch(body, /X-Sender|X-Receiver/);
  assert.match(body, /Subject: from a file\r\n\r\nbody\r\n$/);
  assert.equal(existsSync(join(dir, 'one.eml')), false);
});

test('a backlog does not make every arriving message scan the whole queue: a new message is taken by its id', async (t) => {
  const port = await freePort(); // nothing listens: every attempt defers
  const g = await startGateway(t, {
    people: PEOPLE, systems: { legacy: smtpSystem(port) }, tickMs: 600_000,
    gateway: { retry: { schedule: [600_000], maxAge: 86_400_000, warnAfter: 86_400_000 } },
  });
  const env = { from: 'a@example.org', recipients: [{ address: 'ann@example.com' }], bodyType: '7bit' as const, smtputf8: false, source: { kind: 'smtp' as const, ip: '127.0.0.1' } };
  for (let i = 0; i < 500; i++) await g.gw.spool.enqueue(env, Buffer.from(`Subject: backlog ${i}\r\n\r\nx\r\n`));
  g.gw.engine.wake(); // one whole scan takes the backlog: 500 deferred attempts
  await until('the backlog to be tried once', () => g.gw.spool.list().every((m) => m.recipients[0]!.attempts >= 1), t);
  const spool = g.gw.spool;
  const list = spool.list.bind(spool);
  let scans = 0;
  spool.list = () => { scans++; return list(); };
  t.after(() => { spool.list = list; });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(/queued as (\S+)/.exec(await sendRaw(g.port, 'a@example.org', ['ann@example.com'], MSG(`new${i}`)))![1]!);
  await until('each new message to be tried', () => ids.every((id) => (spool.get(id)?.recipients[0]!.attempts ?? 0) >= 1), t);
  assert.equal(scans, 0, 'new messages were found without scanning the 500 queued');
});
