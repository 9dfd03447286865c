/**
 * The console over real sockets: what inject cannot show. Over TLS the session
 * cookie is Secure and HSTS is sent; the event stream (GET /api/events) sends
 * the overview at once and again when a check result lands, refuses without a
 * session, and ends when its session is logged out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import Fastify from 'fastify';
import { hashPassword } from '../../../src/core/index.js';
import { createMetrics, silentLogger } from '../../../src/observe/index.js';
import { openStore } from '../../../src/store/index.js';
import { createWebServer } from '../../../src/web/index.js';
import { registerConsole, type ConsoleDeps } from '../../../src/web/console-routes.js';

const PASSWORD = 'http test password';

async function deps(): Promise<ConsoleDeps & { close(): Promise<void> }> {
  const store = await openStore({ sqlite: ':memory:' });
  return {
    organization: 'Org', users: [{ name: 'admin', passwordHash: await hashPassword(PASSWORD) }],
    checks: store.checks, audit: store.audit, expected: { cloud: ['imap'] }, staleAfterMs: 60_000,
    pushIntervalMs: 100,
    runChecks: async () => {
      await store.checks.record({ system: 'cloud', endpoint: 'imap', ok: false, detail: 'connection refused' });
      return { ok: false, endpoints: 1, durationMs: 1 };
    },
    close: () => store.close(),
  };
}

test('over TLS the session cookie is Secure and HSTS is sent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-console-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const d = await deps();
  const app = Fastify({ https: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
  registerConsole(app, d);
  t.after(async () => { await app.close(); await d.close(); });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/api/login', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (r) => {
      r.resume();
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ name: 'admin', password: PASSWORD }));
  });
  assert.equal(res.status, 200);
  const cookie = String(res.headers['set-cookie']);
  assert.match(cookie, /; HttpOnly; Secure; SameSite=Strict$/);
  assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
});

/** Reads server-sent events from a fetch body until `until` says stop; returns them. */
async function readEvents(body: ReadableStream<Uint8Array>, until: (events: { event: string; data: string }[]) => boolean): Promise<{ event: string; data: string }[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: string }[] = [];
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buf += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data !== undefined) events.push({ event, data });
    }
    if (until(events)) {
      await reader.cancel();
      return events;
    }
  }
}

test('event stream: overview at once, a new result without asking, 401 without a session, ends on logout', async (t) => {
  const d = await deps();
  const app = createWebServer({ log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [], console: d });
  t.after(async () => { await app.close(); await d.close(); });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  assert.equal((await fetch(`${base}/api/events`)).status, 401);
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: PASSWORD }) });
  const cookie = String(login.headers.get('set-cookie')).split(';')[0]!;
  const { csrfToken } = await login.json() as { csrfToken: string };

  const stream = await fetch(`${base}/api/events`, { headers: { cookie } });
  assert.equal(stream.status, 200);
  assert.match(String(stream.headers.get('content-type')), /^text\/event-stream/);
  assert.equal(stream.headers.get('x-frame-options'), 'DENY');
  let triggered = false;
  const events = await readEvents(stream.body!, (evs) => {
    const last = JSON.parse(evs[evs.length - 1]?.data ?? '{}') as { light?: string };
    if (!triggered && evs.length >= 1) {
      triggered = true;
      assert.equal(last.light, 'grey', 'nothing checked yet');
      void fetch(`${base}/api/checks/run`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } });
    }
    return last.light === 'red';
  });
  assert.ok(events.every((e) => e.event === 'overview'));

  const second = await fetch(`${base}/api/events`, { headers: { cookie } });
  const ended = readEvents(second.body!, () => false);
  const out = await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } });
  assert.equal(out.status, 200);
  const rest = await ended;
  assert.equal(rest[rest.length - 1]?.event, 'logout', 'the stream says why it ends, then ends');
});
