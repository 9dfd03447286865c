/**
 * The engine against tiny local servers (net.createServer / http.createServer on
 * port 0): a server that accepts and stays silent, a closed port, a plain-text
 * server behind an "implicit TLS" config, and scripted SMTP/IMAP/HTTP peers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Secret } from '../core/index.js';
import { runChecks } from './run.js';
import type { SystemConfig } from '../config/index.js';
import type { CheckTarget, EndpointResult } from './types.js';

/** Compile-time: every SystemConfig of the config module is a CheckTarget. */
const _configIsCheckTarget: SystemConfig extends CheckTarget ? true : never = true;

const HOST = '127.0.0.1';

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

/** A TCP server whose every connection is handed to `onConn`; sockets are destroyed on close. */
async function tcpServer(onConn: (s: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<Socket>();
  const server = createServer((s) => { socks.add(s); s.on('error', () => { /* peer went away */ }); onConn(s); });
  const port = await listen(server);
  return { port, close: () => new Promise((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }) };
}

/** Replies to each complete line with the scripted answer for its first word. */
function scripted(greeting: string, answers: Record<string, string | ((line: string) => string)>) {
  return (s: Socket): void => {
    s.write(greeting);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const words = line.split(' ');
        const key = /^[A-Z]+$/.test(words[0] ?? '') ? words[0]! : (words[1] ?? '').toUpperCase();
        const a = answers[key];
        const text = typeof a === 'function' ? a(line) : a ?? '';
        if (text) s.write(text);
        if (key === 'QUIT' || key === 'LOGOUT') s.end();
      }
    });
  };
}

async function one(system: CheckTarget, timeoutMs = 2000): Promise<EndpointResult> {
  const r = await runChecks({ systems: { [system.name]: system }, timeoutMs });
  assert.equal(r.results.length, 1);
  return r.results[0]!;
}

test('a server that accepts and never says a word times out, naming what we waited for', async () => {
  const srv = await tcpServer(() => { /* silent */ });
  try {
    const timeoutMs = 400;
    const r = await runChecks({
      timeoutMs,
      systems: {
        silent: {
          name: 'silent',
          smtp: { host: HOST, port: srv.port, protocol: 'smtp', tls: 'none' },
          imap: { host: HOST, port: srv.port, tls: 'none' },
          ldap: { url: `ldap://${HOST}:${srv.port}`, baseDn: 'dc=x', filter: '(objectClass=*)', startTls: false },
        },
      },
    });
    assert.equal(r.ok, false);
    const by = Object.fromEntries(r.results.map((x) => [x.endpoint, x]));
    assert.equal(by.smtp?.error?.code, 'CHECK_TIMEOUT');
    assert.equal(by.smtp?.error?.reason, 'timed out after 400ms waiting for the greeting');
    assert.equal(by.imap?.error?.reason, 'timed out after 400ms waiting for the greeting');
    assert.equal(by.ldap?.error?.reason, 'timed out after 400ms waiting for the bind answer');
    for (const x of r.results) {
      assert.ok(x.latencyMs >= timeoutMs - 5 && x.latencyMs < timeoutMs + 500, `${x.endpoint} took ${x.latencyMs}ms`);
    }
    assert.ok(r.durationMs < timeoutMs + 500, `all at once, not one after the other (${r.durationMs}ms)`);
  } finally {
    await srv.close();
  }
});

test('a closed port is "connection refused"', async () => {
  const srv = await tcpServer(() => { /* never used */ });
  const port = srv.port;
  await srv.close();
  const r = await one({ name: 'gone', imap: { host: HOST, port, tls: 'none' } });
  assert.equal(r.ok, false);
  assert.deepEqual(r.error, { code: 'CHECK_REFUSED', reason: 'connection refused' });
  assert.equal(r.target, `${HOST}:${port}`);
});

test('implicit TLS against a plain-text server is a TLS failure', async () => {
  const srv = await tcpServer((s) => { s.write('220 plain.example ESMTP\r\n'); });
  try {
    const r = await one({ name: 'x', smtp: { host: HOST, port: srv.port, protocol: 'smtp', tls: 'implicit' } });
    assert.equal(r.error?.code, 'CHECK_TLS');
    assert.match(r.error?.reason ?? '', /^TLS handshake failed: .*plain text/);
  } finally {
    await srv.close();
  }
});

test('SMTP: greeting, EHLO capabilities and QUIT; LMTP says LHLO', async () => {
  const srv = await tcpServer(scripted('220 mx.example ESMTP\r\n', {
    EHLO: '250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n',
    LHLO: '250-lmtp.example\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n',
    QUIT: '221 2.0.0 Bye\r\n',
  }));
  try {
    const smtp = await one({ name: 'a', smtp: { host: HOST, port: srv.port, protocol: 'smtp', tls: 'none' } });
    assert.equal(smtp.ok, true, smtp.summary);
    assert.equal(smtp.endpoint, 'smtp');
    assert.equal(smtp.summary, '220 greeting, EHLO ok (PIPELINING SIZE 10240000 8BITMIME)');
    assert.deepEqual(smtp.details.capabilities, ['PIPELINING', 'SIZE 10240000', '8BITMIME']);
    const lmtp = await one({ name: 'a', smtp: { host: HOST, port: srv.port, protocol: 'lmtp', tls: 'none' } });
    assert.equal(lmtp.endpoint, 'lmtp');
    assert.equal(lmtp.summary, '220 greeting, LHLO ok (PIPELINING ENHANCEDSTATUSCODES)');
  } finally {
    await srv.close();
  }
});

test('SMTP: a 554 greeting fails quoting the line; starttls without STARTTLS offered is a TLS failure', async () => {
  const busy = await tcpServer(scripted('554 5.3.2 mx.example too busy\r\n', {}));
  const noTls = await tcpServer(scripted('220 mx.example ESMTP\r\n', { EHLO: '250-mx.example\r\n250 PIPELINING\r\n' }));
  try {
    const r = await one({ name: 'a', smtp: { host: HOST, port: busy.port, protocol: 'smtp', tls: 'none' } });
    assert.deepEqual(r.error, { code: 'CHECK_PROTOCOL', reason: 'unexpected answer to the greeting: "554 5.3.2 mx.example too busy"' });
    const t = await one({ name: 'a', smtp: { host: HOST, port: noTls.port, protocol: 'smtp', tls: 'starttls' } });
    assert.equal(t.error?.code, 'CHECK_TLS');
    assert.match(t.error?.reason ?? '', /does not offer STARTTLS/);
  } finally {
    await busy.close();
    await noTls.close();
  }
});

test('IMAP: master login as the probe user, post-login capabilities; a rejected login is bad credentials', async () => {
  const seen: string[] = [];
  // No SASL-IR: AUTHENTICATE PLAIN, then the base64 line after the "+" continuation.
  const srv2 = await tcpServer((s) => {
    s.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
    let buf = '';
    let authTag = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const [tag, cmd] = line.split(' ');
        if (authTag) {
          const [, authcid, pw] = Buffer.from(line, 'base64').toString().split('\0');
          seen.push(authcid!);
          s.write(pw === 'right'
            ? `${authTag} OK [CAPABILITY IMAP4rev1 UIDPLUS CONDSTORE APPENDLIMIT=35651584] Logged in\r\n`
            : `${authTag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`);
          authTag = '';
        } else if (cmd === 'CAPABILITY') s.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK\r\n`);
        else if (cmd === 'AUTHENTICATE') { authTag = tag!; s.write('+ \r\n'); } else if (cmd === 'LOGOUT') s.end(`* BYE\r\n${tag} OK\r\n`);
      }
    });
  });
  try {
    const ok = await runChecks({
      timeoutMs: 2000,
      systems: { a: { name: 'a', imap: { host: HOST, port: srv2.port, tls: 'none', admin: { user: 'master', password: new Secret('right'), mode: 'master' } } } },
    }, { probeUsers: { a: 'alice@example.com' } });
    const r = ok.results[0]!;
    assert.equal(r.ok, true, r.summary);
    assert.equal(r.summary, '* OK greeting, login master ok as alice@example.com, IMAP4rev1 UIDPLUS CONDSTORE APPENDLIMIT=35651584');
    assert.deepEqual(seen, ['alice@example.com*master']);
    const bad = await one({ name: 'a', imap: { host: HOST, port: srv2.port, tls: 'none', admin: { user: 'master', password: new Secret('wrong'), mode: 'master' } } });
    assert.deepEqual(bad.error, { code: 'CHECK_AUTH', reason: 'bad credentials (login rejected: NO [AUTHENTICATIONFAILED] Authentication failed.)' });
    assert.ok(!JSON.stringify(bad).includes('wrong'), 'the password never appears in a result');
  } finally {
    await srv2.close();
  }
});

async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createHttpServer(handler);
  const port = await listen(server);
  return { url: `http://${HOST}:${port}/`, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

test('CalDAV: calendar-access and 207 pass; 401 is bad credentials; a plain WebDAV server is not CalDAV', async () => {
  const srv = await httpServer((req, res) => {
    const authorized = req.headers.authorization === `Basic ${Buffer.from('admin:pw').toString('base64')}`;
    if (req.url === '/plain/' && req.method === 'OPTIONS') { res.writeHead(200, { dav: '1, 2' }).end(); return; }
    if (req.method === 'OPTIONS') { res.writeHead(200, { dav: '1, 2, 3, calendar-access, addressbook' }).end(); return; }
    if (!authorized) { res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end(); return; }
    res.writeHead(207, { 'content-type': 'text/xml' })
      .end('<multistatus xmlns="DAV:"><response><propstat><prop><current-user-principal><href>/admin/</href></current-user-principal></prop></propstat></response></multistatus>');
  });
  try {
    const good = await one({ name: 'c', caldav: { url: srv.url, user: 'admin', password: new Secret('pw'), home: '{local}/' } });
    assert.equal(good.ok, true, good.summary);
    assert.equal(good.summary, 'DAV 1, 2, 3, calendar-access, addressbook; PROPFIND 207 as admin (principal /admin/)');
    const bad = await one({ name: 'c', caldav: { url: srv.url, user: 'admin', password: new Secret('nope'), home: '{local}/' } });
    assert.deepEqual(bad.error, { code: 'CHECK_AUTH', reason: 'bad credentials (PROPFIND answered 401 Unauthorized)' });
    const plain = await one({ name: 'c', caldav: { url: `${srv.url}plain/`, home: '{local}/' } });
    assert.equal(plain.error?.code, 'CHECK_PROTOCOL');
    assert.match(plain.error?.reason ?? '', /lacks calendar-access \(DAV: 1, 2\)/);
  } finally {
    await srv.close();
  }
});

test('free/busy URL: 404 for the placeholder is reachable; 500 fails', async () => {
  const srv = await httpServer((req, res) => { res.writeHead(req.url?.startsWith('/broken') ? 500 : 404).end(); });
  try {
    const ok = await one({ name: 'f', freebusyUrl: `${srv.url}{address}.vfb` });
    assert.equal(ok.ok, true);
    assert.equal(ok.summary, 'HTTP 404 Not Found for placeholder mailbridge-check@example.invalid (server reachable)');
    const broken = await one({ name: 'f', freebusyUrl: `${srv.url}broken/{local}.vfb` });
    assert.equal(broken.error?.code, 'CHECK_PROTOCOL');
    assert.match(broken.error?.reason ?? '', /unexpected answer to GET: "500 Internal Server Error"/);
  } finally {
    await srv.close();
  }
});

test('users CSV and LDIF: counts rows and entries; a missing file is not found', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'mb-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'users.csv');
  writeFileSync(csv, 'address,name,aliases\nann@example.com,"Ann, A.",a@example.com\nbob@example.com,Bob,\n');
  const ok = await one({ name: 'u', users: csv });
  assert.equal(ok.summary, '2 users (with header row)');
  const missing = await one({ name: 'u', users: join(dir, 'nope.csv') });
  assert.equal(missing.error?.code, 'CHECK_NOT_FOUND');
  const ldif = join(dir, 'people.ldif');
  writeFileSync(ldif, 'dn: uid=ann,ou=p,dc=x\nmail: ann@example.com\n\ndn: uid=bob,ou=p,dc=x\nmail: bob@example.com\n');
  const l = await one({ name: 'u', ldif });
  assert.equal(l.endpoint, 'ldif');
  assert.equal(l.summary, '2 entries');
});

test('only: checks just the named systems', async () => {
  const r = await runChecks({ timeoutMs: 500, systems: { a: { name: 'a', users: '/nonexistent/a.csv' }, b: { name: 'b', users: '/nonexistent/b.csv' } } }, { only: ['b'] });
  assert.deepEqual(r.results.map((x) => x.system), ['b']);
});
