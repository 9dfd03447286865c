/**
 * The console's Queue and Tracking API (issues 4 and 7) over a real gateway
 * (SMTP listener, spool on disk, delivery engine, tracking in a real store),
 * through fastify's inject. The destination's port is closed at first, so a
 * message stays queued (deferred); a recording SMTP server (smtp-server) is
 * started on that port when the test wants it delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../../src/core/index.js';
import { CsvResolver, Gateway, searchTracking, Tracker } from '../../../src/gateway/index.js';
import { createMetrics, silentLogger } from '../../../src/observe/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { createWebServer, QueueAccess, queueArea, trackingArea, type QueueAreaDeps } from '../../../src/web/index.js';
import { freePort } from '../../harness/process.js';
import { baseGatewayConfig, sendRaw, smtpSystem, startSink, tempDir, type AfterHost } from '../gateway/helpers.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PASSWORD = 'queue api password';
const hash = hashPassword(PASSWORD);

interface Lab {
  gw: Gateway;
  store: Store;
  smtpPort: number;
  backendPort: number;
  app: ReturnType<typeof createWebServer>;
  cookie: string;
  csrf: string;
}

type Over = Partial<Pick<QueueAreaDeps, 'gateway' | 'gatewayInProcess'>>;

async function webFor(t: AfterHost, gw: Gateway, store: Store, tracker: Tracker, over: Over = {}): Promise<Pick<Lab, 'app' | 'cookie' | 'csrf'>> {
  const search = (q: Parameters<typeof searchTracking>[1]): ReturnType<typeof searchTracking> => searchTracking(store, q);
  const access = new QueueAccess({
    spoolDir: gw.spool.dir, gateway: () => gw, gatewayInProcess: true, tracking: { search, track: (e) => tracker.track(e) }, ...over,
  });
  const app = createWebServer({
    log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [],
    console: {
      organization: 'Org', users: [{ name: 'admin', passwordHash: await hash }], checks: store.checks, audit: store.audit,
      staleAfterMs: 60_000, areas: [queueArea(access), trackingArea({ search, queue: access })],
    },
  });
  t.after(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/api/login', payload: { name: 'admin', password: PASSWORD } });
  assert.equal(res.statusCode, 200);
  return { app, cookie: String(res.headers['set-cookie']).split(';')[0]!, csrf: (res.json() as { csrfToken: string }).csrfToken };
}

async function setup(t: AfterHost, over: Over = {}): Promise<Lab> {
  const dir = tempDir(t, 'mb-console-queue-');
  writeFileSync(join(dir, 'legacy.csv'), 'address,name,aliases\nann@example.com,Ann,\nbob@example.com,Bob,\n');
  const backendPort = await freePort();
  const store = await openStore({ sqlite: ':memory:' });
  const tracker = new Tracker(store, 'gw.test', silentLogger());
  const gw = await Gateway.start({
    config: baseGatewayConfig(dir), domains: ['example.com'], systems: { legacy: smtpSystem(backendPort) },
    resolver: new CsvResolver({ legacy: join(dir, 'legacy.csv') }, ['example.com']),
    log: silentLogger(), registry: createMetrics({ defaults: false }).registry, tickMs: 100, closeTimeoutMs: 300, tracker,
  });
  t.after(async () => { await gw.stop(); await store.close(); });
  const web = await webFor(t, gw, store, tracker, over);
  return { gw, store, smtpPort: gw.ports[0]!, backendPort, ...web };
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends one message to ann; resolves its queue id once its first attempt has failed (the backend port is closed). */
async function deferredMessage(lab: Lab, mid: string): Promise<string> {
  const r = await sendRaw(lab.smtpPort, 'sender@example.org', ['ann@example.com'], `Message-ID: <${mid}>\r\nSubject: queued for the console\r\nFrom: Sender <sender@example.org>\r\n\r\nhello\r\n`);
  const id = /queued as (\S+)/.exec(r)?.[1];
  assert.ok(id, r);
  await until('a failed attempt', () => lab.gw.spool.get(id)?.recipients[0]?.status === 'deferred');
  return id;
}

const get = (lab: Lab, url: string) => lab.app.inject({ url, headers: { cookie: lab.cookie } });
const post = (lab: Lab, url: string, payload?: object, csrf: string | null = lab.csrf) => lab.app.inject({
  method: 'POST', url, headers: { cookie: lab.cookie, ...(csrf === null ? {} : { 'x-csrf-token': csrf }) }, ...(payload ? { payload } : {}),
});

test('every queue and tracking route: 401 without a session, 403 on actions without the CSRF token', async (t) => {
  const lab = await setup(t);
  const id = await deferredMessage(lab, 'auth1@test');
  const routes: [string, string][] = [['GET', '/api/queue'], ['GET', `/api/queue/${id}`], ['GET', '/api/tracking?messageId=auth1@test'],
    ...(['hold', 'release', 'retry', 'delete'].map((op) => ['POST', `/api/queue/${id}/${op}`] as [string, string]))];
  for (const [method, url] of routes) {
    const res = await lab.app.inject({ method: method as 'GET', url });
    assert.equal(res.statusCode, 401, `${method} ${url}`);
    assert.deepEqual(res.json(), { error: 'login required' });
  }
  for (const op of ['hold', 'release', 'retry', 'delete']) {
    assert.equal((await post(lab, `/api/queue/${id}/${op}`, {}, null)).statusCode, 403, `${op} without a token`);
    assert.equal((await post(lab, `/api/queue/${id}/${op}`, {}, 'x'.repeat(43))).statusCode, 403, `${op} with a wrong token`);
  }
  const m = lab.gw.spool.get(id);
  assert.ok(m && !m.held, 'still queued and not held: nothing was applied');
  assert.deepEqual((await lab.store.audit.list({ limit: 50 })).filter((a) => a.action.startsWith('queue.')), []);
});

test('list with filters, message detail with headers, replies and tracking; bad values are 400', async (t) => {
  const lab = await setup(t);
  const id = await deferredMessage(lab, 'list1@test');
  const list = await get(lab, '/api/queue');
  assert.equal(list.statusCode, 200);
  const doc = list.json() as { mode: string; total: number; destinations: string[]; messages: { id: string; state: string; from: string; recipients: { address: string; status: string; destination: string; lastReply: string; attempts: number; nextAttempt: number }[] }[] };
  assert.equal(doc.mode, 'in-process');
  assert.equal(doc.total, 1);
  const [m] = doc.messages;
  assert.equal(m?.id, id);
  assert.equal(m.state, 'deferred');
  assert.equal(m.from, 'sender@example.org');
  assert.equal(m.recipients[0]?.status, 'deferred');
  assert.equal(m.recipients[0]?.destination, 'system:legacy');
  assert.ok(m.recipients[0]!.attempts >= 1);
  assert.ok(m.recipients[0]!.lastReply.length > 0, 'the connection error is the last reply');
  assert.ok(m.recipients[0]!.nextAttempt > Date.now(), 'next attempt in the future');
  assert.deepEqual(doc.destinations, ['system:legacy']);

  const ids = async (q: string): Promise<string[]> => {
    const r = await get(lab, `/api/queue?${q}`);
    assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
    return (r.json() as { messages: { id: string }[] }).messages.map((x) => x.id);
  };
  assert.deepEqual(await ids('state=deferred'), [id]);
  assert.deepEqual(await ids('state=held'), []);
  assert.deepEqual(await ids('recipient=ANN@'), [id], 'part of an address, any case');
  assert.deepEqual(await ids('recipient=zed'), []);
  assert.deepEqual(await ids('destination=legacy'), [id]);
  assert.deepEqual(await ids('destination=system:legacy&state=deferred&olderThan=0s&limit=5&offset=0'), [id]);
  assert.deepEqual(await ids('destination=external'), []);
  assert.deepEqual(await ids('olderThan=1h'), []);
  assert.deepEqual(await ids('offset=1'), []);

  const bad: [string, RegExp][] = [
    ['/api/queue?state=stuck', /state: "stuck" is not one of held, cutover, deferred, queued, finishing/],
    ['/api/queue?limit=0', /limit: 0 is out of range \(1 to 500\)/],
    ['/api/queue?limit=ten', /limit: "ten" is not a whole number/],
    ['/api/queue?offset=-1', /offset: "-1" is not a whole number/],
    ['/api/queue?olderThan=soon', /olderThan: "soon" is not a duration/],
    ['/api/queue?sort=age', /unknown parameter sort/],
    ['/api/queue?state=held&state=deferred', /state: given more than once/],
    ['/api/tracking?since=yesterday', /since: "yesterday" is not a time/],
    ['/api/tracking?since=2026-11-22T10:00:00Z&until=2026-11-22T09:00:00Z', /since: must not be after until/],
    ['/api/tracking?limit=5000', /limit: 5000 is out of range/],
    ['/api/tracking?recipient=a', /unknown parameter recipient/],
  ];
  for (const [url, re] of bad) {
    const r = await get(lab, url);
    assert.equal(r.statusCode, 400, url);
    assert.match((r.json() as { error: string }).error, re, url);
  }

  await lab.gw.engine.idle();
  const detail = await get(lab, `/api/queue/${id}`);
  assert.equal(detail.statusCode, 200);
  const d = detail.json() as { message: { envelope: { from: string; recipients: { address: string }[]; source: { kind: string; ip: string } } }; headers: { name: string; value: string }[]; events: { event: string }[] };
  assert.equal(d.message.envelope.from, 'sender@example.org');
  assert.deepEqual(d.message.envelope.recipients.map((r) => r.address), ['ann@example.com']);
  assert.equal(d.message.envelope.source.kind, 'smtp');
  const header = (name: string): string | undefined => d.headers.find((h) => h.name.toLowerCase() === name)?.value;
  assert.equal(header('subject'), 'queued for the console');
  assert.equal(header('message-id'), '<list1@test>');
  assert.match(header('received') ?? '', /by gw\.test/, 'our Received header, from the spool file');
  const events = await until('received and deferred events', async () => {
    const e = (await get(lab, `/api/queue/${id}`)).json() as { events: { event: string }[] };
    const names = e.events.map((x) => x.event);
    return names.includes('received') && names.includes('deferred') ? names : undefined;
  });
  assert.equal(events[0], 'received');

  for (const url of ['/api/queue/NOSUCHID00000000000', '/api/queue/..%2F..%2Fetc%2Fpasswd']) {
    const r = await get(lab, url);
    assert.equal(r.statusCode, 404, url);
    assert.match((r.json() as { error: string }).error, /no message .* in the queue/);
  }
});

test('hold keeps a message back, release delivers it; both audited and tracked', async (t) => {
  const lab = await setup(t);
  const id = await deferredMessage(lab, 'hold1@test');
  const held = await post(lab, `/api/queue/${id}/hold`);
  assert.equal(held.statusCode, 200, held.body);
  assert.deepEqual(held.json(), { ok: true, op: 'hold', mode: 'in-process', applied: true, ids: [id] });
  assert.equal(lab.gw.spool.get(id)?.held, true);
  assert.deepEqual(((await get(lab, '/api/queue?state=held')).json() as { messages: { id: string }[] }).messages.map((m) => m.id), [id]);

  // The backend comes up; a retry request on a held message must not send it either.
  const sink = await startSink(t, { port: lab.backendPort });
  assert.equal((await post(lab, `/api/queue/${id}/retry`)).statusCode, 200);
  await new Promise((r) => setTimeout(r, 500));
  await lab.gw.engine.idle();
  assert.equal(sink.messages.length, 0, 'held: not delivered although the backend is up');

  const released = await post(lab, `/api/queue/${id}/release`);
  assert.equal(released.statusCode, 200, released.body);
  await sink.waitFor(1);
  assert.deepEqual(sink.messages[0]?.to, ['ann@example.com']);
  assert.match(sink.messages[0]!.body.toString(), /Message-ID: <hold1@test>/);
  await until('the message to leave the queue', () => lab.gw.spool.get(id) === undefined);
  assert.equal((await get(lab, `/api/queue/${id}`)).statusCode, 404, 'delivered: gone from the queue');
  assert.equal((await post(lab, `/api/queue/${id}/hold`)).statusCode, 404, 'no action on a message that has left');

  const audit = (await lab.store.audit.list({ limit: 50 })).filter((a) => a.action.startsWith('queue.'));
  assert.deepEqual(audit.map((a) => [a.action, a.actor, a.target]).sort(), [['queue.hold', 'admin', id], ['queue.release', 'admin', id], ['queue.retry', 'admin', id]]);

  const names = await until('delivered in tracking', async () => {
    const r = await get(lab, '/api/tracking?messageId=%3Chold1@test%3E');
    assert.equal(r.statusCode, 200);
    const e = (r.json() as { events: { event: string; queued: boolean; queueId: string }[] }).events;
    return e.some((x) => x.event === 'delivered') ? e : undefined;
  });
  for (const ev of ['received', 'deferred', 'held', 'retry', 'released', 'delivered']) assert.ok(names.some((e) => e.event === ev), `${ev} in ${names.map((e) => e.event).join(',')}`);
  assert.ok(names.every((e) => e.queueId === id && e.queued === false), 'left the queue: no link');
  const byTime = await get(lab, `/api/tracking?to=ann@example.com&since=${Date.now() - 60_000}&until=${new Date(Date.now() + 1000).toISOString()}`);
  // Actions on the whole message carry no recipient: by recipient, the recipient's own events.
  assert.deepEqual((byTime.json() as { events: { event: string }[] }).events.map((e) => e.event), ['received', 'deferred', 'delivered']);
  const future = await get(lab, `/api/tracking?to=ann@example.com&since=${new Date(Date.now() + 3_600_000).toISOString()}`);
  assert.deepEqual((future.json() as { events: unknown[] }).events, []);
});

test('delete, delete with a bounce (a DSN to the sender), body checks', async (t) => {
  const lab = await setup(t);
  const a = await deferredMessage(lab, 'del1@test');
  const b = await deferredMessage(lab, 'del2@test');
  assert.equal((await post(lab, `/api/queue/${a}/delete`, { bounce: 'yes' })).statusCode, 400);
  const extra = await post(lab, `/api/queue/${a}/hold`, { bounce: true });
  assert.equal(extra.statusCode, 400);
  assert.match((extra.json() as { error: string }).error, /unknown field bounce \(hold takes no options\)/);
  assert.ok(lab.gw.spool.get(a), 'nothing done on a bad body');

  const del = await post(lab, `/api/queue/${a}/delete`);
  assert.equal(del.statusCode, 200, del.body);
  assert.equal(lab.gw.spool.get(a), undefined);
  assert.equal((await get(lab, `/api/queue/${a}`)).statusCode, 404);

  const bounced = await post(lab, `/api/queue/${b}/delete`, { bounce: true });
  assert.equal(bounced.statusCode, 200, bounced.body);
  // The engine writes the DSN (from the null sender, to the original sender) and drops the original.
  const dsn = await until('a DSN for the deleted message', () => lab.gw.spool.get(b) === undefined && lab.gw.spool.list().find((m) => m.envelope.isDsn));
  assert.equal(dsn.envelope.from, '');
  assert.deepEqual(dsn.envelope.recipients.map((r) => r.address), ['sender@example.org']);

  const audit = (await lab.store.audit.list({ limit: 50 })).filter((x) => x.action.startsWith('queue.'));
  assert.deepEqual(audit.map((x) => [x.action, x.target, x.details.bounce ?? false]).sort(), [['queue.delete', a, false], ['queue.delete', b, true]]);
  const tracked = await until('deleted events', async () => {
    const e = ((await get(lab, '/api/tracking?from=sender@example.org')).json() as { events: { event: string; messageId: string }[] }).events;
    return e.filter((x) => x.event.startsWith('deleted')).length === 2 ? e : undefined;
  });
  assert.deepEqual(tracked.filter((x) => x.event.startsWith('deleted')).map((x) => [x.event, x.messageId]).sort(), [['deleted', 'del1@test'], ['deleted-bounced', 'del2@test']]);
});

test('a gateway in another process gets a control request (202); a gateway still starting answers 503', async (t) => {
  const lab = await setup(t);
  const id = await deferredMessage(lab, 'ctl1@test');
  // The same spool seen as from a console whose process does not run the gateway: the pid file names a live one.
  const tracker = new Tracker(lab.store, 'console', silentLogger());
  const other = await webFor(t, lab.gw, lab.store, tracker, { gateway: () => undefined, gatewayInProcess: false });
  const remote = { ...lab, ...other };
  const list = (await get(remote, '/api/queue')).json() as { mode: string; messages: { id: string }[] };
  assert.equal(list.mode, 'control');
  assert.deepEqual(list.messages.map((m) => m.id), [id]);
  const hold = await post(remote, `/api/queue/${id}/hold`);
  assert.equal(hold.statusCode, 202, hold.body);
  assert.deepEqual(hold.json(), { ok: true, op: 'hold', mode: 'control', applied: false, ids: [id] });
  await until('the running gateway to apply the request', () => lab.gw.spool.get(id)?.held === true);
  assert.equal((await post(remote, '/api/queue/NOSUCHID00000000000/hold')).statusCode, 404);
  assert.equal((await lab.store.audit.list({ limit: 10 })).filter((a) => a.action === 'queue.hold').length, 1);

  const starting = await webFor(t, lab.gw, lab.store, tracker, { gateway: () => undefined, gatewayInProcess: true });
  const s = { ...lab, ...starting };
  const r = await get(s, '/api/queue');
  assert.equal(r.statusCode, 503);
  assert.deepEqual(r.json(), { error: 'the gateway is starting' });
  assert.equal((await post(s, `/api/queue/${id}/release`)).statusCode, 503);
  assert.equal(lab.gw.spool.get(id)?.held, true, 'not released');
  assert.equal((await get(s, '/api/tracking?messageId=ctl1@test')).statusCode, 200, 'tracking still answers');
});
