/**
 * Synthetic probes on the lab, composed as `serve` composes them (config file,
 * store, the in-process gateway): with everything up, each system's mail probe
 * goes through our gateway, arrives over IMAP and is deleted again, and the LDAP
 * probe binds and reads its base; the results land in the store's checks table
 * and /metrics. Then a private cloud Dovecot is stopped: its mail probe fails
 * with a reason that names IMAP and the refused connection, the legacy one stays
 * green, and the failure is logged as an event.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ImapFlow } from 'imapflow';
import pino from 'pino';
import { hashPassword } from '../../../src/core/index.js';
import type { Gateway } from '../../../src/gateway/index.js';
import { createContext, openStoreFor, type Context } from '../../../src/cli/context.js';
import { startGatewayFor } from '../../../src/cli/commands/gateway.js';
import { buildProber, directorySyncTimer } from '../../../src/cli/commands/serve-jobs.js';
import { runDirectorySync } from '../../../src/directory/index.js';
import { registerStoreMetrics, storeFigures } from '../../../src/cli/commands/console-figures.js';
import type { Prober } from '../../../src/probe/index.js';
import type { Store } from '../../../src/store/index.js';
import { freePort, labDir, newMailUser, startDovecot, stopPid, useLab, type LabInfo, type LabMailUser } from '../../harness/index.js';
import { writeLabConfig } from '../../harness/lab-config.js';

const lab = await useLab(undefined, { only: ['dovecot', 'ldap'] });

let ctx: Context;
let store: Store;
let gateway: Gateway;
let prober: Prober;
let cloudPid = 0;
let mixed: LabInfo;
let cloudProbe: LabMailUser;
const lines: Record<string, unknown>[] = [];

before(async () => {
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-probes-')));
  const priv = await startDovecot(join(dir, 'cloud-dovecot'), 'cloud');
  cloudPid = priv.server.pid;
  mixed = { ...lab, dovecot: { ...lab.dovecot, cloud: priv.info } };
  const legacyProbe = await newMailUser(mixed, 'legacy', { local: 'probe' });
  cloudProbe = await newMailUser(mixed, 'cloud', { local: 'probe' });
  const file = writeLabConfig(join(dir, 'mb'), mixed, {
    webPort: await freePort(), gatewayPort: await freePort(), passwordHash: await hashPassword('x'), literalSecrets: true,
    probeMailboxes: { legacy: legacyProbe.address, cloud: cloudProbe.address },
  });
  ctx = createContext({ config: file }, { quiet: true });
  // Capture the event log lines (the failure must be logged as an event).
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  ctx = { ...ctx, log: pino({ level: 'info' }, sink) };
  store = await openStoreFor(ctx);
  gateway = await startGatewayFor(ctx, store);
  prober = buildProber(ctx, store, () => gateway, 'probe-test.example');
  registerStoreMetrics(ctx.metrics.registry, store, storeFigures(store, { totalUsers: () => null, concurrency: 1 }));
  writeFileSync(join(dir, 'done'), '');
});

after(async () => {
  prober?.close();
  await gateway?.stop();
  await store?.close();
  if (cloudPid) await stopPid(cloudPid);
});

async function inboxCount(u: LabMailUser): Promise<number> {
  const dv = mixed.dovecot[u.system];
  const c = new ImapFlow({ host: '127.0.0.1', port: dv.imapPort, secure: false, doSTARTTLS: false, auth: { user: u.address, pass: u.password }, logger: false });
  await c.connect();
  try {
    const s = await c.status('INBOX', { messages: true });
    return s ? s.messages ?? -1 : -1;
  } finally {
    await c.logout();
  }
}

test('everything up: mail probes go through our gateway and are read back and deleted; LDAP probe green; recorded and in /metrics', async () => {
  // The shared full lab (scripts/test.mjs) also has Radicale: then both systems get a free/busy probe.
  const fb = lab.radicale ? '+freebusy' : '';
  assert.deepEqual(prober.plan().map((p) => `${p.system}:${p.kinds.join('+')}`), [`legacy:mail${fb}+ldap`, `cloud:mail${fb}`]);
  const results = await prober.runOnce();
  const by = new Map(results.map((r) => [`${r.system} ${r.kind}`, r]));
  for (const key of ['legacy mail', 'cloud mail', 'legacy ldap', ...(fb ? ['legacy freebusy', 'cloud freebusy'] : [])]) {
    const r = by.get(key);
    assert.ok(r?.ok, `${key}: ${r?.detail}`);
  }
  assert.match(by.get('cloud mail')!.detail, /through the gateway 127\.0\.0\.1:\d+ and read back over IMAP in \d+ ms/);
  assert.ok(by.get('cloud mail')!.latencyMs > 0);
  // The probe message was deleted again: the probe mailbox is empty.
  assert.equal(await inboxCount(cloudProbe), 0);
  const checks = await store.checks.latest();
  const row = checks.find((c) => c.system === 'cloud' && c.endpoint === 'probe-mail');
  assert.equal(row?.ok, true);
  assert.ok(checks.some((c) => c.system === 'legacy' && c.endpoint === 'probe-ldap' && c.ok));

  const metrics = await ctx.metrics.registry.metrics();
  assert.match(metrics, /mailbridge_probe_up\{system="cloud",probe="mail"\} 1/);
  assert.match(metrics, /mailbridge_probe_latency_seconds_count\{system="cloud",probe="mail"\} 1/);
  // The gateway delivered the probes: the delivery latency histogram and queue gauges are there.
  assert.match(metrics, /mailbridge_gateway_delivery_latency_seconds_count\{destination="cloud",result="delivered"\} 1/);
  assert.match(metrics, /# TYPE mailbridge_gateway_queue_recipients gauge/);
  assert.match(metrics, /mailbridge_migration_copied_messages 0/);
  assert.doesNotMatch(metrics, /@example\.com/, 'no addresses in labels');
});

test('a stopped cloud Dovecot: its mail probe fails with a clear reason, legacy stays green, an event is logged', async () => {
  await stopPid(cloudPid);
  const results = await prober.runOnce();
  const cloud = results.find((r) => r.system === 'cloud' && r.kind === 'mail');
  assert.equal(cloud?.ok, false);
  assert.equal(cloud?.code, 'PROBE_IMAP_UNREACHABLE');
  assert.match(cloud!.detail, /^imap 127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)$/);
  assert.equal(results.find((r) => r.system === 'legacy' && r.kind === 'mail')?.ok, true);
  const row = (await store.checks.latest()).find((c) => c.system === 'cloud' && c.endpoint === 'probe-mail');
  assert.equal(row?.ok, false);
  assert.equal(row?.detail, cloud!.detail);
  const ev = lines.find((l) => l.event === 'probe.failed' && l.system === 'cloud');
  assert.ok(ev, 'probe.failed logged');
  assert.equal(ev.probe, 'mail');
  assert.equal(ev.code, 'PROBE_IMAP_UNREACHABLE');
  assert.doesNotMatch(JSON.stringify(lines), /masterPassword|"pass"/);
  assert.match(await ctx.metrics.registry.metrics(), /mailbridge_probe_up\{system="cloud",probe="mail"\} 0/);
});

test('after a directory sync, /metrics has its duration, status and counts (whatever the lab\'s LDAP holds)', async () => {
  const timed = directorySyncTimer(ctx);
  await timed(() => runDirectorySync({ store, log: ctx.log, metrics: ctx.metrics, settings: ctx.config, ldap: { timeoutMs: 10_000 } }, { dryRun: false, allowDeletes: false }))
    .catch(() => undefined);
  const run = await store.runs.latest('directory');
  assert.ok(run?.finishedAt, 'the sync was recorded');
  const m = await ctx.metrics.registry.metrics();
  assert.match(m, new RegExp(`mailbridge_directory_last_sync_success ${run.status === 'ok' ? 1 : 0}\n`));
  assert.match(m, /mailbridge_directory_last_sync_duration_seconds \d/);
  assert.match(m, /mailbridge_directory_sync_duration_seconds_count\{status="[a-z-]+"\} 1/);
  assert.match(m, /mailbridge_directory_conflicts \d+/);
});

