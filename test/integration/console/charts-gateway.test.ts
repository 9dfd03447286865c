/**
 * The console's gateway charts from a real gateway: one message waits in the
 * spool for an unreachable system (queue depth per destination, as `serve`
 * samples it from the running gateway), another is delivered to a real SMTP
 * listener and tracked in the store (delivery latency from its `received` and
 * `delivered` events). Sampled by ConsoleSampler, read back from /api/charts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { queueDepth } from '../../../src/cli/commands/console-pages.js';
import { hashPassword } from '../../../src/core/index.js';
import { CsvResolver, Gateway, Tracker } from '../../../src/gateway/index.js';
import { createMetrics, silentLogger } from '../../../src/observe/index.js';
import { openStore } from '../../../src/store/index.js';
import { chartsArea, ConsoleSampler, createWebServer } from '../../../src/web/index.js';
import { delay, freePort } from '../../harness/index.js';
import { baseGatewayConfig, sendRaw, smtpSystem, startSink, tempDir } from '../gateway/helpers.js';


test('queue depth per destination and delivery latency from a running gateway', async (t) => {
  const dir = tempDir(t, 'mb-charts-gw-');
  const store = await openStore({ sqlite: join(dir, 'mb.db') });
  t.after(() => store.close());
  const sink = await startSink(t);
  t.after(() => sink.close());
  writeFileSync(join(dir, 'legacy.csv'), 'address,name,aliases\nalice@example.com,Alice,\n');
  writeFileSync(join(dir, 'cloud.csv'), 'address,name,aliases\nbob@example.com,Bob,\n');
  const tracker = new Tracker(store, 'gw.test', silentLogger());
  const gw = await Gateway.start({
    config: baseGatewayConfig(dir), domains: ['example.com'],
    systems: { legacy: { ...smtpSystem(await freePort()), name: 'legacy' }, cloud: { ...smtpSystem(sink.port), name: 'cloud' } },
    resolver: new CsvResolver({ legacy: join(dir, 'legacy.csv'), cloud: join(dir, 'cloud.csv') }, ['example.com']),
    log: silentLogger(), registry: createMetrics({ defaults: false }).registry, tickMs: 100, closeTimeoutMs: 300, tracker,
  });
  t.after(() => gw.stop());

  const started = Date.now();
  for (const to of ['alice@example.com', 'bob@example.com']) {
    const r = await sendRaw(gw.ports[0]!, 'sender@example.net', [to], `From: sender@example.net\r\nTo: ${to}\r\nSubject: chart\r\n\r\nhi\r\n`);
    assert.match(r, /^250/);
  }
  await sink.waitFor(1);
  // Alice's recipient is deferred once its first attempt failed against the closed port; Bob's is delivered.
  // Bob's recipient counts as unrouted until the outcome of its first attempt is recorded.
  const want = JSON.stringify({ 'system:legacy': 1 });
  for (let i = 0; i < 100 && JSON.stringify(queueDepth(gw)) !== want; i++) await delay(100);
  assert.deepEqual(queueDepth(gw), { 'system:legacy': 1 });
  await tracker.flush();

  const at = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
  // One interval that covers the whole test, however the minute boundaries fall.
  const wide = new ConsoleSampler({ store: store.console, log: silentLogger(), node: 'gw.test', queueDepth: () => queueDepth(gw), intervalMs: at - started + 60_000 });
  const samples = await wide.sampleOnce(at);
  const latency = samples.find((s) => s.series === 'delivery.latency.p95');
  assert.ok(latency, JSON.stringify(samples));
  assert.ok(latency.value >= 0 && latency.value < Date.now() - started + 1000, `latency ${latency.value} ms`);

  const app = createWebServer({
    log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [],
    console: {
      organization: 'T', users: [{ name: 'admin', passwordHash: await hashPassword('pw for charts') }], checks: store.checks, audit: store.audit, staleAfterMs: 60_000,
      areas: [chartsArea({ samples: (o) => store.console.samples(o), now: () => at })],
    },
  });
  t.after(() => app.close());
  const login = await app.inject({ method: 'POST', url: '/api/login', payload: { name: 'admin', password: 'pw for charts' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const res = await app.inject({ url: '/api/charts?series=queue.depth,delivery.latency.p95', headers: { cookie } });
  assert.equal(res.statusCode, 200);
  const series = (res.json() as { series: { series: string; label: string; points: [number, number][] }[] }).series;
  assert.deepEqual(series.map((s) => [s.series, s.label, s.points]), [
    ['queue.depth', 'system:legacy', [[at, 1]]],
    ['delivery.latency.p95', '', [[at, latency.value]]],
  ]);
});
