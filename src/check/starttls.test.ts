/**
 * STARTTLS and implicit TLS against local servers with a throwaway self-signed
 * certificate (made with the openssl CLI for this run): the handshake passes
 * with tlsInsecure and fails as CHECK_TLS, naming the self-signed certificate,
 * without it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { TLSSocket, createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChecks } from './run.js';
import type { CheckTarget } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'mb-check-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
  '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
const key = readFileSync(join(dir, 'key.pem'));
const cert = readFileSync(join(dir, 'cert.pem'));

/** A line-based SMTP peer on `sock`; STARTTLS switches it to TLS on the same connection. */
function smtpPeer(sock: Socket, secure: boolean): void {
  sock.on('error', () => { /* the client may drop a failed handshake */ });
  let buf = '';
  const onData = (d: Buffer): void => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const cmd = buf.slice(0, nl).trim().split(' ')[0]!.toUpperCase();
      buf = buf.slice(nl + 1);
      if (cmd === 'EHLO') sock.write(`250-tls.example\r\n${secure ? '' : '250-STARTTLS\r\n'}250 8BITMIME\r\n`);
      else if (cmd === 'QUIT') sock.end('221 bye\r\n');
      else if (cmd === 'STARTTLS') {
        sock.off('data', onData);
        sock.write('220 go ahead\r\n', () => {
          smtpPeer(new TLSSocket(sock, { isServer: true, key, cert }), true);
        });
      }
    }
  };
  sock.on('data', onData);
}

async function listen(server: ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

const sockets = new Set<Socket>();
const plain = createServer((s) => { sockets.add(s); s.write('220 tls.example ESMTP\r\n'); smtpPeer(s, false); });
const implicit = createTlsServer({ key, cert }, (s) => { sockets.add(s); s.write('220 tls.example ESMTP\r\n'); smtpPeer(s, true); });
implicit.on('tlsClientError', () => { /* expected when the client rejects the certificate */ });
const plainPort = await listen(plain);
const implicitPort = await listen(implicit as unknown as ReturnType<typeof createServer>);
after(() => { for (const s of sockets) s.destroy(); plain.close(); implicit.close(); });

async function check(t: CheckTarget) {
  const r = await runChecks({ systems: { [t.name]: t }, timeoutMs: 3000 });
  return r.results[0]!;
}

test('STARTTLS: handshake ok with tlsInsecure, EHLO again after it', async () => {
  const r = await check({ name: 's', tlsInsecure: true, smtp: { host: '127.0.0.1', port: plainPort, protocol: 'smtp', tls: 'starttls' } });
  assert.equal(r.ok, true, r.summary);
  assert.match(r.summary, /^220 greeting, EHLO ok \(8BITMIME\), STARTTLS ok \(TLSv1\.[23]\)$/);
});

test('STARTTLS: a self-signed certificate without tlsInsecure is CHECK_TLS', async () => {
  const r = await check({ name: 's', smtp: { host: '127.0.0.1', port: plainPort, protocol: 'smtp', tls: 'starttls' } });
  assert.equal(r.error?.code, 'CHECK_TLS');
  assert.match(r.error?.reason ?? '', /self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); the certificate is not trusted/);
});

test('implicit TLS: ok with tlsInsecure', async () => {
  const r = await check({ name: 'i', tlsInsecure: true, smtp: { host: '127.0.0.1', port: implicitPort, protocol: 'smtp', tls: 'implicit' } });
  assert.equal(r.ok, true, r.summary);
  assert.match(r.summary, /^220 greeting, EHLO ok \(8BITMIME\), TLS ok \(TLSv1\.[23]\)$/);
});
