/**
 * SMTP AUTH from the configuration (`gateway.auth.users`, scrypt hashes from
 * `mailbridge passwd`), through the real command (`mailbridge gateway`):
 * not offered before STARTTLS, PLAIN and LOGIN accepted with the right
 * password and refused with 535 5.7.8 with a wrong one, and an authenticated
 * session may relay to another domain (delivered through the smarthost), which
 * an unauthenticated one may not (the relay networks exclude loopback here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { hashPassword } from '../../../src/core/index.js';
import { freePort } from '../../harness/process.js';
import { selfSignedCert } from '../../harness/tls.js';
import { startChild, stopChild, writeConfig } from './child.js';
import { startSink, tempDir } from './helpers.js';

const CN = 'gateway.lab.test';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A line-reading SMTP client that can switch its socket to TLS. */
class Dialog {
  #buf = '';
  #wake: (() => void) | undefined;
  socket: Socket;
  constructor(socket: Socket) { this.socket = socket; this.#attach(); }
  #attach(): void {
    this.socket.on('data', (d: Buffer) => { this.#buf += d.toString('latin1'); this.#wake?.(); });
    this.socket.on('error', () => undefined);
  }
  static async open(port: number): Promise<Dialog> {
    const s = netConnect(port, '127.0.0.1');
    await new Promise<void>((r, j) => { s.once('connect', () => r()); s.once('error', j); });
    const d = new Dialog(s);
    assert.match(await d.reply(), /^220 /);
    return d;
  }
  async reply(): Promise<string> {
    const end = Date.now() + 15_000;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.#buf);
      if (m) { this.#buf = this.#buf.slice(m[0].length); return m[0].trimEnd(); }
      if (Date.now() > end) throw new Error(`no reply; buffered ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((r) => { this.#wake = r; setTimeout(r, 100).unref(); });
    }
  }
  async cmd(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }
  async starttls(ca: Buffer): Promise<void> {
    assert.match(await this.cmd('STARTTLS'), /^220 /);
    this.socket.removeAllListeners('data');
    const tls = tlsConnect({ socket: this.socket, ca, servername: CN });
    await new Promise<void>((r, j) => { tls.once('secureConnect', () => r()); tls.once('error', j); });
    this.socket = tls;
    this.#buf = '';
    this.#attach();
  }
  close(): void { this.socket.destroy(); }
}

test('AUTH PLAIN and LOGIN from gateway.auth.users: only after STARTTLS, 535 5.7.8 on a wrong password, relay once authenticated', async (t) => {
  const dir = tempDir(t);
  const cert = selfSignedCert(dir, CN);
  const ca = readFileSync(cert.cert);
  const smarthost = await startSink(t);
  const backendPort = await freePort();
  const gatewayPort = await freePort();
  const config = writeConfig({
    dir, gatewayPort, backendPort, externalPort: smarthost.port, people: ['ann@example.com,Ann,'],
    extraGateway: `  relayNetworks: [10.0.0.0/8]
  tls: { cert: ${cert.cert}, key: ${cert.key} }
  auth:
    users:
      - { name: sub, passwordHash: "${await hashPassword('correct horse')}" }
      - { name: other, passwordHash: "${await hashPassword('other pw')}" }
`,
  });
  const gw = await startChild(config);
  t.after(() => stopChild(gw));

  const plain = await Dialog.open(gatewayPort);
  t.after(() => plain.close());
  const ehlo = await plain.cmd('EHLO c.test');
  assert.match(ehlo, /STARTTLS/);
  assert.doesNotMatch(ehlo, /AUTH/, 'AUTH not offered before TLS');
  assert.doesNotMatch(await plain.cmd(`AUTH PLAIN ${b64('\0sub\0correct horse')}`), /^235/, 'and not accepted');
  await plain.starttls(ca);
  assert.match(await plain.cmd('EHLO c.test'), /^250[ -]AUTH PLAIN LOGIN$/m);
  // Not authenticated yet: no relay.
  assert.match(await plain.cmd('MAIL FROM:<sub@example.com>'), /^250 /);
  assert.match(await plain.cmd('RCPT TO:<x@other.org>'), /^554 5\.7\.1 /);
  assert.match(await plain.cmd('RSET'), /^250 /);
  assert.match(await plain.cmd(`AUTH PLAIN ${b64('\0sub\0wrong')}`), /^535 5\.7\.8 /);
  assert.match(await plain.cmd(`AUTH PLAIN ${b64('\0nosuchuser\0correct horse')}`), /^535 5\.7\.8 /);
  assert.match(await plain.cmd(`AUTH PLAIN ${b64('\0sub\0correct horse')}`), /^235 /);
  assert.match(await plain.cmd('MAIL FROM:<sub@example.com>'), /^250 /);
  assert.match(await plain.cmd('RCPT TO:<x@other.org>'), /^250 /, 'authenticated: relay allowed');
  assert.match(await plain.cmd('DATA'), /^354 /);
  plain.socket.write('Subject: relayed\r\nMessage-ID: <auth1@example.com>\r\n\r\nhi\r\n.\r\n');
  assert.match(await plain.reply(), /^250 /);
  await smarthost.waitFor(1);
  assert.deepEqual(smarthost.messages[0]!.to, ['x@other.org']);
  assert.match(smarthost.messages[0]!.body.toString('latin1'), /with ESMTPSA id/, 'the Received header says authenticated TLS (RFC 3848)');

  const login = await Dialog.open(gatewayPort);
  t.after(() => login.close());
  await login.cmd('EHLO c.test');
  await login.starttls(ca);
  await login.cmd('EHLO c.test');
  assert.match(await login.cmd('AUTH LOGIN'), /^334 /);
  assert.match(await login.cmd(b64('other')), /^334 /);
  assert.match(await login.cmd(b64('not it')), /^535 5\.7\.8 /);
  assert.match(await login.cmd('AUTH LOGIN'), /^334 /);
  assert.match(await login.cmd(b64('other')), /^334 /);
  assert.match(await login.cmd(b64('other pw')), /^235 /);
  assert.match(await login.cmd('MAIL FROM:<other@example.com>'), /^250 /);
  assert.match(await login.cmd('RCPT TO:<y@other.org>'), /^250 /);
});

test('gateway.auth without gateway.tls is a config error naming the key', async (t) => {
  const dir = tempDir(t);
  const config = writeConfig({
    dir, gatewayPort: await freePort(), backendPort: await freePort(), people: [],
    extraGateway: `  auth: { users: [{ name: sub, passwordHash: "${await hashPassword('x')}" }] }\n`,
  });
  await assert.rejects(startChild(config), /gateway\.auth.*needs gateway\.tls/s);
});
