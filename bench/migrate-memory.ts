/**
 * bench/migrate-memory (issue 3, "Memory stays flat: ... 100,000 messages never
 * need 100,000 objects in memory at once"): for each size, one INBOX of that
 * many small messages (1-2 KB, written straight into the legacy maildir, see
 * test/integration/migration/maildir-load.ts; setup, not timed) goes through
 *   run        the first `migrate run` pass (migrateUser) into an empty target;
 *   verify     a full verify of the folder (keeping its hashes, as the cutover's
 *              pre-check does), then a quick verify reusing them (the cutover's,
 *              under the hold); with --compare also the verify of git HEAD
 *              (--old-verify FILE: verify.ts of an earlier commit, its imports
 *              made absolute), same folder, same state, its own process;
 *   reconcile  `migrate run` again with a fresh, empty store (state lost): every
 *              message found on the target by content.
 * Every phase runs in a child process of its own and reports its time, its peak
 * of V8 heap + ArrayBuffers (sampled every 10 ms; the backing stores of Buffers
 * and typed arrays live outside the V8 heap) and its peak RSS (getrusage).
 * Flat memory: the figures at 100,000 are not ~10x those at 10,000. Each phase
 * also checks its result (appended/matched counts, zero differences), so a
 * figure never comes from a broken run. A benchmark, not a test: it never fails on a figure.
 *
 *   npm run bench:migrate-memory -- [--sizes 10000,100000] [--old-verify FILE] [--verify-rounds 1] [--heap-limit MB]
 *
 * --heap-limit MB runs every phase with --max-old-space-size=MB: a phase that
 * finishes under a cap far below what one object per message needs is bounded.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { runBenchChild } from './lib/child.js';
import { benchLab } from './lib/bench-lab.js';
import { Secret } from '../src/core/index.js';
import type { SystemConfig } from '../src/config/index.js';
import { MigrationState, migrateUser, type UserVerify, type VerifyCache } from '../src/migration/index.js';
import * as verifyNew from '../src/migration/verify.js';
import { silentLogger } from '../src/observe/index.js';
import { openStore } from '../src/store/index.js';
import type { FolderMapping } from '../src/protocol/imap/index.js';
import { LAB_HOST, attachLab, type DovecotInfo } from '../test/harness/index.js';
import { masterSession, newMigrationUsers } from '../test/harness/mail.js';
import { loadInboxMaildir } from '../test/integration/migration/maildir-load.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const MB = 1048576;
const INBOX: FolderMapping = { source: 'INBOX', target: 'INBOX', display: { source: 'INBOX', target: 'INBOX' }, reason: 'inbox' };

// ---------------------------------------------------------------- child: one phase

interface ChildArgs { labDir: string; address: string; store: string; phase: 'run' | 'verify' | 'reconcile'; verifyModule?: string; expect: number }
/** peakMb: sampled heap + ArrayBuffers (garbage not yet collected included); liveMb: the largest heap + ArrayBuffers right after a major GC (what was really held). */
interface Figure { seconds: number; peakMb: number; liveMb: number }
interface ChildResult { phase: string; main: Figure; quick?: Figure; maxRssMb: number; ok: boolean; detail: string }

function systemOf(info: DovecotInfo): SystemConfig {
  return { name: info.system, imap: { host: LAB_HOST, port: info.imapPort, tls: 'none', admin: { user: info.masterUser, password: new Secret(info.masterPassword), mode: 'master' } } };
}

/** Runs fn with a 10 ms sampler of heapUsed + arrayBuffers, after a full GC. */
async function measured<T>(fn: () => Promise<T>): Promise<{ x: T; fig: Figure }> {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const use = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
  let peak = use();
  let live = peak;
  const timer = setInterval(() => { peak = Math.max(peak, use()); }, 10);
  // After a mark-sweep (major GC, kind 4) what is left is what the code holds.
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) live = Math.max(live, use());
  });
  obs.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  const x = await fn();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  obs.disconnect();
  peak = Math.max(peak, use());
  return { x, fig: { seconds, peakMb: peak / MB, liveMb: live / MB } };
}

/** The kept hashes' size, where the implementation tells it (the packed HashTable does). */
function cacheMb(cache: VerifyCache): string {
  let bytes = 0;
  for (const f of cache.folders.values()) {
    const b = (f.msgs as { bytes?: unknown }).bytes;
    if (typeof b !== 'number') return '';
    bytes += b;
  }
  return `, kept hashes ${(bytes / MB).toFixed(1)} MB`;
}

async function child(a: ChildArgs): Promise<void> {
  const lab = attachLab(a.labDir);
  const store = await openStore({ sqlite: a.store });
  let out: ChildResult;
  try {
    if (a.phase === 'verify') {
      const impl = (a.verifyModule ? await import(a.verifyModule) : verifyNew) as typeof verifyNew;
      const source = await masterSession(lab.dovecot.legacy, a.address);
      const target = await masterSession(lab.dovecot.cloud, a.address);
      const state = new MigrationState(store.db);
      const once = async (known?: VerifyCache, keep?: VerifyCache) => {
        const v: UserVerify = { address: a.address, ok: true, folders: [], differences: [], normalized: [] };
        await impl.verifyTarget({ address: a.address, source, target, state, skipDeleted: true, known, keep }, 'INBOX', [INBOX], v);
        return v;
      };
      const cache = impl.newVerifyCache();
      const full = await measured(() => once(undefined, cache));
      const quick = await measured(() => once(cache));
      await source.logout();
      await target.logout();
      const ok = [full.x, quick.x].every((v) => v.differences.length === 0 && v.folders[0]?.equal === a.expect);
      out = { phase: a.phase, main: full.fig, quick: quick.fig, maxRssMb: process.resourceUsage().maxRSS / 1024, ok,
        detail: `equal ${full.x.folders[0]?.equal}/${quick.x.folders[0]?.equal}, differences ${full.x.differences.length}/${quick.x.differences.length}, quick hashed ${quick.x.hashed}${cacheMb(cache)}` };
    } else {
      const deps = { migration: { from: 'legacy', to: 'cloud', concurrency: 1, deleteOnTarget: false, skipDeleted: true },
        source: systemOf(lab.dovecot.legacy), target: systemOf(lab.dovecot.cloud), db: store.db, log: silentLogger() };
      const r = await measured(() => migrateUser(deps, { address: a.address }));
      const inbox = r.x.folders.find((f) => f.source === 'INBOX');
      const ok = !r.x.error && (a.phase === 'run' ? inbox?.appended === a.expect : inbox?.appended === 0 && inbox.matched === a.expect && inbox.mode === 'reconcile');
      out = { phase: a.phase, main: r.fig, maxRssMb: process.resourceUsage().maxRSS / 1024, ok,
        detail: `mode ${inbox?.mode}, appended ${inbox?.appended}, matched ${inbox?.matched}${r.x.error ? `, error ${r.x.error.message}` : ''}` };
    }
  } finally {
    await store.close();
  }
  console.log(JSON.stringify(out));
}

// ---------------------------------------------------------------- driver

async function main(): Promise<void> {
  const sizes = (argValue('--sizes') ?? '10000,100000').split(',').map(Number);
  const oldVerify = argValue('--old-verify');
  // A V8 old-space cap for every phase: finishing under it is the proof that the phase's memory is bounded.
  const heapLimit = argValue('--heap-limit');
  const verifyRounds = Number(argValue('--verify-rounds') ?? 1);
  if (heapLimit) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${Number(heapLimit)}`.trim();
  const bl = benchLab('mb-bench-mem-');
  const { dir, cleanup } = bl;
  const say = (s: string) => console.log(s);
  const fig = (f: Figure) => `${f.seconds.toFixed(2)} s, heap+buffers peak ${f.peakMb.toFixed(1)} MB / after major GC ${f.liveMb.toFixed(1)} MB`;
  try {
    say(`bench/migrate-memory ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, load average at start ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
    const lab = await bl.start();
    for (const n of sizes) {
      const [u] = await newMigrationUsers(lab, 1, `mem${n}`);
      const t0 = performance.now();
      const bytes = await loadInboxMaildir(lab.dovecot.legacy, lab.domain, u!.address, n, `b${n}`);
      say(`${n} messages (${(bytes / MB).toFixed(1)} MB) written into the legacy INBOX in ${((performance.now() - t0) / 1000).toFixed(1)} s (setup)`);
      const store = join(dir, `state-${n}.db`);
      const phase = async (p: ChildArgs['phase'], st: string, label: string, verifyModule?: string) => {
        let r: ChildResult;
        try {
          r = await runBenchChild<ChildResult>(import.meta.url, JSON.stringify({ labDir: dir, address: u!.address, store: st, phase: p, expect: n, ...(verifyModule ? { verifyModule } : {}) }));
        } catch (err) {
          say(`  ${label}: FAILED (${String(err).split('\n')[0]!.slice(0, 300)})`);
          return;
        }
        const line = `  ${label}: ${fig(r.main)}${r.quick ? `; quick verify ${fig(r.quick)}` : ''}; process peak RSS ${r.maxRssMb.toFixed(0)} MB; ${r.ok ? 'checked' : 'WRONG'} (${r.detail})`;
        say(line);
      };
      await phase('run', store, 'migrate run (first pass)');
      // With --old-verify, the two verifies alternate (ABBA) for --verify-rounds rounds: only same-run ratios count.
      for (let r = 0; r < verifyRounds; r++) {
        const both = [() => phase('verify', store, 'verify (windowed)'), ...(oldVerify ? [() => phase('verify', store, 'verify (old, whole folder)', oldVerify)] : [])];
        for (const f of r % 2 === 0 ? both : both.reverse()) await f();
      }
      await phase('reconcile', join(dir, `lost-${n}.db`), 'reconcile after lost state');
    }
    say(`load average at end ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  } finally {
    await cleanup();
  }
}

if (process.argv.includes('--child')) await child(JSON.parse(argValue('--child')!) as ChildArgs);
else await main();
