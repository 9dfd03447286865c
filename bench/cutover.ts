/**
 * bench/cutover (issue 8, "Speed"): time held per user (from hold to release)
 * for a 10,000-message mailbox whose last delta pass was "an hour earlier",
 * i.e. a few new messages since. A corpus mailbox (bench/lib/mail-corpus.ts)
 * is loaded into the lab's legacy Dovecot and copied by a first pass (not
 * timed as part of the cutover); then --new messages arrive in the old INBOX
 * and a real gateway (in-process, its default 1 s delivery scan, cutover holds
 * from the store) runs while the cutover holds, passes, verifies, flips and
 * releases. Prints the time held and each step's time. --settle sets
 * migration.cutover.settle (default 1s, the schema's default). A benchmark,
 * not a test: it never fails on a time.
 *
 *   npm run bench:cutover -- [--messages 10000] [--new 20] [--settle 1s] [--verify hold|after]
 *
 * --verify is migration.cutover.verify: hold (the default) verifies every message under the hold but
 * hashes only those the pre-check did not (the final pass' copies); full re-hashes every message under
 * the hold; after verifies right after the release.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Secret, parseDuration } from '../src/core/index.js';
import type { SystemConfig } from '../src/config/index.js';
import { engineOps, runSteps } from '../src/cutover/index.js';
import { DirectoryResolver, Gateway, StoreHoldGate } from '../src/gateway/index.js';
import { migrateUser, verifyUser, type EngineDeps } from '../src/migration/index.js';
import { createMetrics, silentLogger } from '../src/observe/index.js';
import { openStore } from '../src/store/index.js';
import { LAB_HOST, type DovecotInfo } from '../test/harness/index.js';
import { benchLab } from './lib/bench-lab.js';
import { masterSession, newMigrationUsers } from '../test/harness/mail.js';
import { loadMailbox } from './lib/mail-corpus.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function imapOf(info: DovecotInfo): SystemConfig {
  return { name: info.system, imap: { host: LAB_HOST, port: info.imapPort, tls: 'none', admin: { user: info.masterUser, password: new Secret(info.masterPassword), mode: 'master' } },
    smtp: { host: LAB_HOST, port: info.lmtpPort, protocol: 'lmtp', tls: 'none' } };
}

const f2 = (n: number): string => n.toFixed(2);
const s1 = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const messages = Number(argValue('--messages') ?? 10_000);
  const fresh = Number(argValue('--new') ?? 20);
  const settle = parseDuration(argValue('--settle') ?? '1s');
  if (!settle.ok) throw new Error(`--settle: ${settle.reason}`);
  const v = argValue('--verify') ?? 'hold';
  if (v !== 'hold' && v !== 'after' && v !== 'full') throw new Error(`--verify: hold, after or full, not ${v}`);
  const verifyMode: 'hold' | 'after' | 'full' = v;
  const bl = benchLab('mb-bench-cut-');
  const { dir, cleanup } = bl;
  const say = (s: string): void => console.log(s);
  try {
    say(`bench/cutover ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, load average at start ${loadavg().map(f2).join(' ')}`);
    const lab = await bl.start();
    const [user, other] = await newMigrationUsers(lab, 2, 'bench');
    const s = await masterSession(lab.dovecot.legacy, user!.address);
    let loaded: { messages: number; bytes: number };
    try { loaded = await loadMailbox(lab.dovecot.legacy, s, user!.address, messages, 7); } finally { await s.logout().catch(() => s.close()); }
    say(`corpus: ${loaded.messages} messages, ${(loaded.bytes / 1048576).toFixed(1)} MB in the old mailbox`);

    const store = await openStore({ sqlite: join(dir, 'state.db') });
    await store.users.upsert({ address: user!.address, homeSystem: 'legacy' });
    await store.users.upsert({ address: other!.address, homeSystem: 'cloud' });
    const systems = { legacy: imapOf(lab.dovecot.legacy), cloud: imapOf(lab.dovecot.cloud) };
    const engine: EngineDeps = { migration: { from: 'legacy', to: 'cloud', concurrency: 1, deleteOnTarget: false, skipDeleted: true },
      source: systems.legacy, target: systems.cloud, db: store.db, log: silentLogger() };
    let t0 = performance.now();
    const first = await migrateUser(engine, { address: user!.address });
    say(`first pass: ${first.totals.appended} appended in ${s1(performance.now() - t0)} (ok ${first.ok})`);

    // "An hour later": a few new messages in the old INBOX since the last pass.
    const s2 = await masterSession(lab.dovecot.legacy, user!.address);
    try {
      for (let i = 0; i < fresh; i++) {
        await s2.append('INBOX', Buffer.from(`From: a@example.org\r\nTo: ${user!.address}\r\nSubject: late ${i}\r\nMessage-ID: <late${i}.${Date.now()}@example.org>\r\n\r\nlate arrival ${i}\r\n`));
      }
    } finally { await s2.logout().catch(() => s2.close()); }

    // --compare N: the full verify and the quick one (the pre-check's hashes reused) timed alternately, same run.
    const rounds = Number(argValue('--compare') ?? 0);
    for (let i = 0; i < rounds; i++) {
      let t1 = performance.now();
      const full = await verifyUser(engine, { address: user!.address }, { keep: true });
      const fullMs = performance.now() - t1;
      t1 = performance.now();
      const quick = await verifyUser(engine, { address: user!.address }, full.cache ? { known: full.cache } : {});
      const quickMs = performance.now() - t1;
      say(`compare ${i + 1}: full verify ${s1(fullMs)} (${full.hashed} hashed, ${full.differences.length} differences), quick ${s1(quickMs)} (${quick.hashed} hashed, ${quick.differences.length} differences); load ${loadavg()[0]!.toFixed(2)}`);
    }

    const gwDir = mkdtempSync(join(dir, 'gw-'));
    const gw = await Gateway.start({
      config: { listen: [{ host: '127.0.0.1', port: 0 }], spool: join(gwDir, 'spool'), relayNetworks: ['127.0.0.0/8'], maxMessageSize: 10_000_000, hopLimit: 50, greetPause: 0,
        retry: { schedule: [60_000], maxAge: 86_400_000, warnAfter: 3_600_000 }, routing: { mode: 'central' }, trackingRetention: 86_400_000, hostname: 'gw.bench' },
      domains: [lab.domain], systems, resolver: new DirectoryResolver(store, [lab.domain]), log: silentLogger(),
      registry: createMetrics({ defaults: false }).registry, holds: new StoreHoldGate(store, 'gw.bench', silentLogger()),
    });
    await new Promise((r) => setTimeout(r, 1500)); // its first heartbeat
    try {
      t0 = performance.now();
      const r = await runSteps({ store, ops: engineOps(engine), from: 'legacy', to: 'cloud', log: silentLogger(), settleMs: settle.value, ackTimeoutMs: 60_000, verifyMode }, 'cutover', user!.address);
      const total = performance.now() - t0;
      say(`cutover: ${r.status}${r.error ? ` (${r.failedStep}: ${r.error})` : ''}; gateway nodes acknowledging: ${r.gateway.acked.join(', ') || 'none'}`);
      for (const st of r.steps) say(`  ${st.step.padEnd(9)} ${s1(st.ms).padStart(9)}  ${st.detail ?? ''}`);
      say(`TIME HELD (hold -> release, migration.cutover.verify ${verifyMode}): ${s1(r.heldMs ?? Number.NaN)} for ${loaded.messages} messages, ${fresh} new since the last pass; whole command ${s1(total)}`);
      if (r.verifyAfter) say(`verify after the release: ${r.verifyAfter.ok ? 'clean' : r.verifyAfter.error ?? 'differences'}`);
      const held = r.steps.filter((x) => ['hold', 'ack', 'settle', 'delta', 'verify', 'flip', 'release'].includes(x.step));
      say(`  of which: ${held.map((x) => `${x.step} ${s1(x.ms)}`).join(', ')}`);
    } finally {
      await gw.stop();
      await store.close();
    }
    say(`load average at end ${loadavg().map(f2).join(' ')}`);
  } finally {
    await cleanup();
  }
}

await main();
