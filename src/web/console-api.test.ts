/**
 * The console's API through fastify's inject (no socket), over a real in-memory
 * store: every route refuses without a session, CSRF is required on actions,
 * wrong passwords are rate-limited, the session cookie has its flags, and the
 * audit log records who did what.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../core/index.js';
import { createMetrics, silentLogger } from '../observe/index.js';
import { openStore, type Store } from '../store/index.js';
import { createWebServer } from './server.js';
import type { ConsoleDeps } from './console-routes.js';

const PASSWORD = 'correct horse battery';
let hash: string;
before(async () => { hash = await hashPassword(PASSWORD); });

interface Lab {
  app: ReturnType<typeof createWebServer>;
  store: Store;
  clock: { t: number };
  runs: number;
}

async function setup(t: { after(fn: () => Promise<void>): void }, over: Partial<ConsoleDeps> = {}, metricsPublic = false): Promise<Lab> {
  const store = await openStore({ sqlite: ':memory:' });
  const clock = { t: Date.now() };
  const lab: Lab = { app: undefined as never, store, clock, runs: 0 };
  lab.app = createWebServer({
    log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic, notReady: () => [],
    console: {
      organization: 'Example Group', users: [{ name: 'admin', passwordHash: hash }],
      checks: store.checks, audit: store.audit, runs: store.runs,
      expected: { legacy: ['smtp', 'imap'], cloud: ['lmtp', 'imap'] },
      staleAfterMs: 60_000, now: () => clock.t,
      runChecks: async () => { lab.runs++; return { ok: true, endpoints: 4, durationMs: 12 }; },
      ...over,
    },
  });
  t.after(async () => { await lab.app.close(); await store.close(); });
  return lab;
}

async function login(lab: Lab, name = 'admin', password = PASSWORD, ip = '10.0.0.1') {
  const res = await lab.app.inject({ method: 'POST', url: '/api/login', payload: { name, password }, remoteAddress: ip });
  const setCookie = String(res.headers['set-cookie'] ?? '');
  const cookie = setCookie.split(';')[0] ?? '';
  return { res, setCookie, cookie, csrf: res.statusCode === 200 ? (res.json() as { csrfToken: string }).csrfToken : '' };
}

const API_ROUTES: [string, string][] = [
  ['GET', '/api/session'], ['GET', '/api/overview'], ['GET', '/api/events'], ['GET', '/api/audit'],
  ['POST', '/api/logout'], ['POST', '/api/checks/run'], ['GET', '/api/nonexistent'], ['DELETE', '/api/session'],
];

describe('without a session', () => {
  test('every /api route answers 401, pages redirect to /login, health and login stay open', async (t) => {
    const lab = await setup(t);
    for (const [method, url] of API_ROUTES) {
      const res = await lab.app.inject({ method: method as 'GET', url });
      assert.equal(res.statusCode, 401, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'login required' });
    }
    const page = await lab.app.inject({ url: '/' });
    assert.equal(page.statusCode, 302);
    assert.equal(page.headers.location, '/login');
    for (const url of ['/login', '/assets/login.js', '/assets/console.css', '/healthz', '/readyz']) {
      assert.equal((await lab.app.inject({ url })).statusCode, 200, url);
    }
    assert.equal((await lab.app.inject({ url: '/assets/index.html' })).statusCode, 404, 'pages only through their routes');
    assert.equal((await lab.app.inject({ url: '/metrics' })).statusCode, 401, 'metrics not public');
    assert.equal(lab.runs, 0);
  });

  test('a forged or expired cookie is no session', async (t) => {
    const lab = await setup(t);
    const forged = await lab.app.inject({ url: '/api/overview', headers: { cookie: `mailbridge_session=${'A'.repeat(43)}` } });
    assert.equal(forged.statusCode, 401);
  });
});

describe('login', () => {
  test('right password: 200, a CSRF token and a HttpOnly SameSite=Strict cookie (not Secure over plain HTTP)', async (t) => {
    const lab = await setup(t);
    const { res, setCookie, cookie, csrf } = await login(lab);
    assert.equal(res.statusCode, 200);
    const body = res.json() as { user: string; csrfToken: string; expiresAt: number };
    assert.equal(body.user, 'admin');
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.match(cookie, /^mailbridge_session=[A-Za-z0-9_-]{43}$/);
    const flags = setCookie.split('; ').slice(1);
    assert.ok(flags.includes('HttpOnly'), setCookie);
    assert.ok(flags.includes('SameSite=Strict'), setCookie);
    assert.ok(flags.includes('Path=/'), setCookie);
    assert.ok(!flags.includes('Secure'), 'Secure only over TLS (see the TLS integration test)');
    assert.ok(!setCookie.includes(csrf), 'the CSRF token is not the cookie');
    const s = await lab.app.inject({ url: '/api/session', headers: { cookie } });
    assert.equal(s.statusCode, 200);
    assert.equal((s.json() as { csrfToken: string }).csrfToken, csrf);
    const page = await lab.app.inject({ url: '/', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<script type="module" src="\/assets\/app.js">/);
    assert.equal((await lab.app.inject({ url: '/login', headers: { cookie } })).headers.location, '/', 'logged in: login page sends home');
    assert.equal((await lab.app.inject({ url: '/metrics', headers: { cookie } })).statusCode, 200, 'metrics with a session');
  });

  test('wrong password, unknown user, malformed body', async (t) => {
    const lab = await setup(t);
    assert.equal((await login(lab, 'admin', 'nope')).res.statusCode, 401);
    assert.equal((await login(lab, 'nobody', PASSWORD)).res.statusCode, 401);
    const wrongType = await lab.app.inject({ method: 'POST', url: '/api/login', payload: 'name=admin&password=x', headers: { 'content-type': 'text/plain' } });
    assert.equal(wrongType.statusCode, 400);
    const noBody = await lab.app.inject({ method: 'POST', url: '/api/login' });
    assert.equal(noBody.statusCode, 400);
    for (const r of [await login(lab, 'admin', 'nope')]) assert.equal(r.setCookie, '', 'no cookie on failure');
  });

  test('rate limit per IP: the 6th try in 15 min is 429 with Retry-After, even with the right password', async (t) => {
    const lab = await setup(t);
    for (let i = 0; i < 5; i++) assert.equal((await login(lab, i % 2 ? 'admin' : `guess${i}`, 'wrong', '10.0.0.9')).res.statusCode, 401);
    const limited = await login(lab, 'admin', PASSWORD, '10.0.0.9');
    assert.equal(limited.res.statusCode, 429);
    assert.equal(limited.setCookie, '');
    const retry = Number(limited.res.headers['retry-after']);
    assert.ok(retry > 800 && retry <= 900, `Retry-After ${retry}`);
    assert.equal((await login(lab, 'admin', PASSWORD, '10.0.0.10')).res.statusCode, 200, 'another address is not limited (2 failures for admin)');
    lab.clock.t += 15 * 60_000;
    assert.equal((await login(lab, 'admin', PASSWORD, '10.0.0.9')).res.statusCode, 200, 'after the window');
  });

  test('rate limit per user: failures from many addresses lock that name only', async (t) => {
    const lab = await setup(t);
    for (let i = 0; i < 5; i++) assert.equal((await login(lab, 'admin', 'wrong', `10.1.0.${i}`)).res.statusCode, 401);
    assert.equal((await login(lab, 'admin', PASSWORD, '10.1.0.99')).res.statusCode, 429);
    assert.equal((await login(lab, 'other', 'x', '10.1.0.99')).res.statusCode, 401, 'another name is checked');
  });

  test('parallel guesses cannot slip past the limit while scrypt runs', async (t) => {
    const lab = await setup(t);
    const all = await Promise.all(Array.from({ length: 12 }, () => login(lab, 'admin', 'wrong', '10.2.0.1')));
    const codes = all.map((r) => r.res.statusCode).sort();
    assert.deepEqual(codes, [...Array(5).fill(401), ...Array(7).fill(429)]);
  });
});

describe('with a session', () => {
  test('CSRF: actions need the session\'s token; a missing, wrong or other session\'s token is 403', async (t) => {
    const lab = await setup(t);
    const a = await login(lab);
    const b = await login(lab);
    const run = (headers: Record<string, string>) => lab.app.inject({ method: 'POST', url: '/api/checks/run', headers });
    assert.equal((await run({ cookie: a.cookie })).statusCode, 403);
    assert.equal((await run({ cookie: a.cookie, 'x-csrf-token': 'x'.repeat(43) })).statusCode, 403);
    assert.equal((await run({ cookie: a.cookie, 'x-csrf-token': b.csrf })).statusCode, 403);
    assert.equal((await lab.app.inject({ method: 'POST', url: '/api/logout', headers: { cookie: a.cookie } })).statusCode, 403);
    assert.equal(lab.runs, 0);
    const ok = await run({ cookie: a.cookie, 'x-csrf-token': a.csrf });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { ok: true, endpoints: 4, durationMs: 12 });
    assert.equal(lab.runs, 1);
    assert.equal((await lab.app.inject({ url: '/api/overview', headers: { cookie: a.cookie } })).statusCode, 200, 'reads need no token');
  });

  test('logout ends the session and clears the cookie; idle and absolute expiry end it too', async (t) => {
    const lab = await setup(t, { session: { idleMs: 60_000, absoluteMs: 300_000 } });
    const a = await login(lab);
    const out = await lab.app.inject({ method: 'POST', url: '/api/logout', headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
    assert.equal(out.statusCode, 200);
    assert.match(String(out.headers['set-cookie']), /^mailbridge_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
    assert.equal((await lab.app.inject({ url: '/api/overview', headers: { cookie: a.cookie } })).statusCode, 401);

    const b = await login(lab);
    lab.clock.t += 61_000;
    assert.equal((await lab.app.inject({ url: '/api/overview', headers: { cookie: b.cookie } })).statusCode, 401, 'idle');
    const c = await login(lab);
    for (let i = 0; i < 7; i++) {
      lab.clock.t += 40_000;
      assert.equal((await lab.app.inject({ url: '/api/overview', headers: { cookie: c.cookie } })).statusCode, 200);
    }
    lab.clock.t += 40_000;
    assert.equal((await lab.app.inject({ url: '/api/overview', headers: { cookie: c.cookie } })).statusCode, 401, 'absolute');
  });

  test('overview: lights from the latest checks, worst first, placeholders for what has not landed', async (t) => {
    const lab = await setup(t);
    const now = lab.clock.t;
    await lab.store.checks.record({ system: 'legacy', endpoint: 'smtp', ok: true, detail: '220 ready', latencyMs: 3, checkedAt: now - 1000 });
    await lab.store.checks.record({ system: 'legacy', endpoint: 'imap', ok: true, latencyMs: 4, checkedAt: now - 1000 });
    await lab.store.checks.record({ system: 'cloud', endpoint: 'imap', ok: true, checkedAt: now - 5000 });
    await lab.store.checks.record({ system: 'cloud', endpoint: 'imap', ok: false, detail: 'connection refused', checkedAt: now - 1000 });
    const a = await login(lab);
    const res = await lab.app.inject({ url: '/api/overview', headers: { cookie: a.cookie } });
    const o = res.json() as { light: string; organization: string; systems: { name: string; light: string; endpoints: { endpoint: string; light: string }[] }[]; problems: { system: string; endpoint: string; light: string }[]; subsystems: Record<string, { available: boolean; note?: string; summary?: string }> };
    assert.equal(o.organization, 'Example Group');
    assert.equal(o.light, 'red');
    assert.deepEqual(o.systems.map((s) => `${s.name}:${s.light}`), ['cloud:red', 'legacy:green']);
    assert.deepEqual(o.systems[0]!.endpoints.map((e) => `${e.endpoint}:${e.light}`), ['imap:red', 'lmtp:grey']);
    assert.deepEqual(o.problems.map((p) => `${p.light} ${p.system} ${p.endpoint}`), ['red cloud imap', 'grey cloud lmtp']);
    assert.deepEqual(o.subsystems.gateway, { available: false, note: 'no gateway runs in this process' });
    assert.deepEqual(o.subsystems.migration, { available: false, note: 'not available yet' });
    assert.equal(o.subsystems.directory!.summary, 'no directory run recorded yet');
  });

  test('security headers on pages and API answers', async (t) => {
    const lab = await setup(t);
    const a = await login(lab);
    for (const url of ['/', '/login', '/api/overview', '/assets/app.js']) {
      const res = await lab.app.inject({ url, headers: url === '/login' ? {} : { cookie: a.cookie } });
      assert.equal(res.statusCode, 200, url);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'/, url);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    }
    const unauth = await lab.app.inject({ url: '/api/overview' });
    assert.equal(unauth.headers['x-frame-options'], 'DENY', 'on refusals too');
    const html = (await lab.app.inject({ url: '/', headers: { cookie: a.cookie } })).body + (await lab.app.inject({ url: '/login' })).body;
    assert.doesNotMatch(html, /<script>|<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=/i, 'no inline scripts or handlers');
  });

  test('audit log: who logged in, failed, ran checks, logged out', async (t) => {
    const lab = await setup(t);
    await login(lab, 'admin', 'wrong', '10.3.0.1');
    const a = await login(lab, 'admin', PASSWORD, '10.3.0.2');
    const remoteAddress = '10.3.0.2';
    await lab.app.inject({ method: 'POST', url: '/api/checks/run', remoteAddress, headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
    await lab.app.inject({ method: 'POST', url: '/api/checks/run', remoteAddress, headers: { cookie: a.cookie } });
    const listed = await lab.app.inject({ url: '/api/audit?limit=10', headers: { cookie: a.cookie } });
    assert.equal(listed.statusCode, 200);
    await lab.app.inject({ method: 'POST', url: '/api/logout', remoteAddress, headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
    const entries = (await lab.store.audit.list({ limit: 10 })).reverse();
    assert.deepEqual(entries.map((e) => [e.actor, e.action, e.details.ip]), [
      ['admin', 'console.login.failed', '10.3.0.1'],
      ['admin', 'console.login', '10.3.0.2'],
      ['admin', 'checks.run', '10.3.0.2'],
      ['admin', 'console.logout', '10.3.0.2'],
    ]);
    assert.equal(entries[0]!.details.reason, 'wrong password');
    assert.ok(!JSON.stringify(entries).includes('wrong"') && !JSON.stringify(entries).includes(PASSWORD), 'no passwords in the audit log');
    assert.equal((listed.json() as { entries: unknown[] }).entries.length, 3);
  });

  test('metrics public: served without a session', async (t) => {
    const lab = await setup(t, {}, true);
    assert.equal((await lab.app.inject({ url: '/metrics' })).statusCode, 200);
  });
});


describe('free/busy and the console login', () => {
  test('a logged-in administrator passes the free/busy access check; nobody else does without the token', async (t) => {
    const { FreeBusyBroker } = await import('../calendar/index.js');
    const { Secret } = await import('../core/index.js');
    const store = await openStore({ sqlite: ':memory:' });
    const broker = new FreeBusyBroker({
      resolver: { resolve: () => ({ kind: 'unknown', reason: 'nobody here' }) },
      sources: new Map(), timeout: 1000, cacheTtl: 0, log: silentLogger(),
      windowBack: 86_400_000, windowForward: 86_400_000 * 7, maxWindow: 86_400_000 * 62,
    });
    const app = createWebServer({
      log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [],
      freebusy: { broker, access: { token: new Secret('s3cret-token'), allowNetworks: ['192.0.2.0/24'] } },
      console: {
        organization: 'Example Group', users: [{ name: 'admin', passwordHash: hash }],
        checks: store.checks, audit: store.audit, runs: store.runs, expected: {}, staleAfterMs: 60_000,
        runChecks: async () => ({ ok: true, endpoints: 0, durationMs: 0 }),
      },
    });
    t.after(async () => { await app.close(); broker.close(); await store.close(); });
    const url = '/freebusy/someone@example.com';
    const outsider = await app.inject({ url, remoteAddress: '10.9.9.9' });
    assert.ok([401, 403].includes(outsider.statusCode), `outsider got ${outsider.statusCode}`);
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { name: 'admin', password: PASSWORD }, remoteAddress: '10.9.9.9' });
    const cookie = String(res.headers['set-cookie'] ?? '').split(';')[0]!;
    const admin = await app.inject({ url, remoteAddress: '10.9.9.9', headers: { cookie } });
    assert.equal(admin.statusCode, 404, 'past the access check: the address is simply unknown');
    const forged = await app.inject({ url, remoteAddress: '10.9.9.9', headers: { cookie: 'mailbridge_session=forged' } });
    assert.ok([401, 403].includes(forged.statusCode));
  });
});
