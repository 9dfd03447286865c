/**
 * STARTTLS on the gateway over real sockets: the advertisement, a message sent
 * inside TLS with the lab's self-signed certificate verified as the CA,
 * commands pipelined behind STARTTLS in plaintext (STARTTLS command injection,
 * CVE-2011-0411) discarded, and SMTP AUTH offered only inside TLS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { selfSignedCert } from '../../harness/tls.js';
import { smtpSystem, startGateway, startSink, tempDir, type AfterHost } from './helpers.js';

const PEOPLE = { legacy: ['ann@example.com,Ann,', 'bob@example.com,Bob,'] };
const CN = 'gateway.lab.test';
const MSG = 'From: a@example.org\r\nTo: ann@example.com\r\nSubject: over tls\r\nMessage-ID: <tls1@example.org>\r\n\r\nHello over TLS\r\n';

function labCert(t: AfterHost): { key: Buffer; cert: Buffer } {
  const paths = selfSignedCert(tempDir(t, 'mb-tls-'), CN);
  return { key: readFileSync(paths.key), cert: readFileSync(paths.cert) };
}

/** An SMTP dialogue over a plain or TLS socket; keeps every byte it received. */
class Wire {
  #buf = '';
  #waiters: (() => void)[] = [];
  #closed = false;
  readonly #onData = (d: Buffer): void => { this.#buf += d.toString('latin1'); this.#wake(); };

  constructor(readonly socket: Socket | TLSSocket) {
    socket.on('data', this.#onData);
    socket.on('close', () => { this.#closed = true; this.#wake(); });
    socket.on('error', () => undefined);
  }

  #wake(): void { for (const w of this.#waiters.splice(0)) w(); }

  /** Bytes received and not yet taken as a reply. */
  get pending(): string { return this.#buf; }

  /** Stops reading: the socket is handed over (to TLS). */
  detach(): Socket | TLSSocket {
    this.socket.removeListener('data', this.#onData);
    return this.socket;
  }

  write(data: string): void { this.socket.write(Buffer.from(data, 'latin1')); }

  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.#buf);
      if (m) { this.#buf = this.#buf.slice(m[0].length); return m[0].trimEnd(); }
      if (this.#closed) return '';
      if (Date.now() > deadline) throw new Error(`no reply; buffered: ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((r) => { this.#waiters.push(r); setTimeout(r, 100).unref(); });
    }
  }

  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }
}

async function open(t: AfterHost, port: number): Promise<Wire> {
  const socket = netConnect(port, '127.0.0.1');
  t.after(() => { socket.destroy(); });
  await new Promise<void>((r, j) => { socket.once('connect', () => r()); socket.once('error', j); });
  const w = new Wire(socket);
  assert.match(await w.reply(), /^220 /);
  return w;
}

/** The TLS handshake over the connection after "220 Ready to start TLS"; verifies the server against `ca`. */
async function handshake(t: AfterHost, plain: Wire, ca: Buffer): Promise<Wire> {
  const socket = tlsConnect({ socket: plain.detach() as Socket, ca, servername: CN });
  t.after(() => { socket.destroy(); });
  await new Promise<void>((r, j) => { socket.once('secureConnect', () => r()); socket.once('error', j); });
  assert.equal(socket.authorized, true, String(socket.authorizationError));
  return new Wire(socket);
}

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('EHLO advertises STARTTLS when a certificate is configured, and not without one', async (t) => {
  const tls = labCert(t);
  const withTls = await startGateway(t, { people: PEOPLE, tls });
  const a = await open(t, withTls.port);
  const ehlo = await a.cmd('EHLO c.test');
  assert.match(ehlo, /^250[ -]STARTTLS$/m);
  assert.doesNotMatch(ehlo, /AUTH/, 'AUTH is not configured');

  const without = await startGateway(t, { people: PEOPLE });
  const b = await open(t, without.port);
  assert.doesNotMatch(await b.cmd('EHLO c.test'), /STARTTLS/);
  assert.match(await b.cmd('STARTTLS'), /^5\d\d /, 'STARTTLS refused without a certificate');
});

test('STARTTLS: handshake with the lab certificate, EHLO again, a message accepted, durable and delivered', async (t) => {
  const tls = labCert(t);
  const sink = await startSink(t);
  const g = await startGateway(t, { people: PEOPLE, tls, systems: { legacy: smtpSystem(sink.port) } });
  const plain = await open(t, g.port);
  await plain.cmd('EHLO c.test');
  assert.match(await plain.cmd('STARTTLS'), /^220 /);
  const w = await handshake(t, plain, tls.cert);
  const ehlo = await w.cmd('EHLO c.test');
  assert.match(ehlo, /^250[ -]PIPELINING$/m);
  assert.doesNotMatch(ehlo, /STARTTLS/, 'not offered again inside TLS');
  assert.match(await w.cmd('STARTTLS'), /^503 /);
  assert.match(await w.cmd('MAIL FROM:<a@example.org>'), /^250 /);
  assert.match(await w.cmd('RCPT TO:<ann@example.com>'), /^250 /);
  assert.match(await w.cmd('DATA'), /^354 /);
  w.write(`${MSG}.\r\n`);
  const done = await w.reply();
  const id = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{19})$/.exec(done)?.[1];
  assert.ok(id, done);
  assert.match(await w.cmd('QUIT'), /^221 /);
  await sink.waitFor(1);
  const got = sink.messages[0]!;
  assert.equal(got.from, 'a@example.org');
  assert.deepEqual(got.to, ['ann@example.com']);
  const body = got.body.toString('latin1');
  assert.match(body, new RegExp(`with ESMTPS id ${id}`), 'our Received header records TLS');
  assert.ok(body.endsWith(MSG.slice(MSG.indexOf('From:'))), 'the message arrived whole');
});

test('STARTTLS command injection: commands pipelined behind STARTTLS in plaintext are discarded', async (t) => {
  const tls = labCert(t);
  const sink = await startSink(t);
  const g = await startGateway(t, { people: PEOPLE, tls, systems: { legacy: smtpSystem(sink.port) } });
  const plain = await open(t, g.port);
  await plain.cmd('EHLO c.test');
  // One write, so one TCP segment on loopback: STARTTLS and the injected commands together.
  plain.write('STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.com>\r\n');
  assert.match(await plain.reply(), /^220 /);
  await settle();
  assert.equal(plain.pending, '', 'no plaintext reply to the injected commands');
  const w = await handshake(t, plain, tls.cert);
  await settle();
  assert.equal(w.pending, '', 'no reply to the injected commands inside TLS either');
  await w.cmd('EHLO c.test');
  assert.match(await w.cmd('RCPT TO:<ann@example.com>'), /^503 /, 'no MAIL FROM survived the handshake');
  assert.match(await w.cmd('DATA'), /^503 /);
  // The session works normally for the client's own commands.
  assert.match(await w.cmd('MAIL FROM:<a@example.org>'), /^250 /);
  assert.match(await w.cmd('RCPT TO:<ann@example.com>'), /^250 /);
  assert.match(await w.cmd('DATA'), /^354 /);
  w.write(`${MSG}.\r\n`);
  assert.match(await w.reply(), /^250 2\.0\.0 Ok: queued as /);
  await sink.waitFor(1);
  assert.equal(sink.messages.length, 1);
  assert.equal(sink.messages[0]!.from, 'a@example.org', 'the injected sender was never used');
  assert.deepEqual(sink.messages[0]!.to, ['ann@example.com']);
});

test('STARTTLS forgets the plaintext session: a transaction begun before TLS is gone (RFC 3207 4.2)', async (t) => {
  const tls = labCert(t);
  const g = await startGateway(t, { people: PEOPLE, tls });
  const plain = await open(t, g.port);
  await plain.cmd('EHLO c.test');
  assert.match(await plain.cmd('MAIL FROM:<a@example.org>'), /^250 /);
  assert.match(await plain.cmd('STARTTLS'), /^220 /);
  const w = await handshake(t, plain, tls.cert);
  await w.cmd('EHLO c.test');
  assert.match(await w.cmd('RCPT TO:<ann@example.com>'), /^503 /);
});

test('SMTP AUTH is offered and accepted only inside TLS', async (t) => {
  const tls = labCert(t);
  const authenticate = (user: string, password: string): Promise<boolean> => Promise.resolve(user === 'sub' && password === 'secret');
  const g = await startGateway(t, { people: PEOPLE, tls, authenticate, gateway: { auth: { users: [{ name: 'sub', passwordHash: 'scrypt$checked-by-authenticate-above' }] }, relayNetworks: ['10.0.0.0/8'] } });
  const plain = await open(t, g.port);
  const before = await plain.cmd('EHLO c.test');
  assert.match(before, /STARTTLS/);
  assert.doesNotMatch(before, /AUTH/, 'no AUTH advertised in plaintext');
  const creds = Buffer.from('\0sub\0secret').toString('base64');
  assert.match(await plain.cmd(`AUTH PLAIN ${creds}`), /^538 /, 'AUTH refused in plaintext');
  assert.match(await plain.cmd('STARTTLS'), /^220 /);
  const w = await handshake(t, plain, tls.cert);
  assert.match(await w.cmd('EHLO c.test'), /^250[ -]AUTH PLAIN LOGIN$/m);
  assert.match(await w.cmd(`AUTH PLAIN ${Buffer.from('\0sub\0wrong').toString('base64')}`), /^535 /);
  assert.match(await w.cmd(`AUTH PLAIN ${creds}`), /^235 /);
  // Authenticated: relay to another domain is allowed (the gateway trusts no network here).
  assert.match(await w.cmd('MAIL FROM:<sub@example.com>'), /^250 /);
  assert.match(await w.cmd('RCPT TO:<x@other.org>'), /^250 /);
});

test('without AUTH configured, EHLO has no AUTH before or after TLS', async (t) => {
  const tls = labCert(t);
  const g = await startGateway(t, { people: PEOPLE, tls, authenticate: () => Promise.resolve(true) });
  const plain = await open(t, g.port);
  assert.doesNotMatch(await plain.cmd('EHLO c.test'), /AUTH/);
  assert.match(await plain.cmd('STARTTLS'), /^220 /);
  const w = await handshake(t, plain, tls.cert);
  assert.doesNotMatch(await w.cmd('EHLO c.test'), /AUTH/);
  assert.match(await w.cmd(`AUTH PLAIN ${Buffer.from('\0a\0b').toString('base64')}`), /^5\d\d /);
});
