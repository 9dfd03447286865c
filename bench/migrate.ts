/**
 * bench/migrate (issue 3, "Speed"): a realistic corpus (bench/lib/mail-corpus.ts)
 * loaded into the lab's legacy Dovecot, then in the same run (a) one large
 * mailbox, (b) 8 small mailboxes in parallel (one mailbridge process with
 * concurrency 8; 8 doveadm processes at once) and (c) 8 mailboxes as large as
 * (a)'s in parallel (the issue's reference mailbox: 6,000 messages, ~30 MB;
 * a 5-second (b) run pays the engine's start, V8 warming up, in full, a longer
 * one much less: bench/RESULTS.md, session 13), each copied by mailbridge (first
 * pass, through the master user into a per-user target login) and by Dovecot's
 * own `doveadm backup -R ... imapc:` (dsync pulling over IMAP, the native
 * ceiling for this pair), every run into fresh cloud users. Prints messages/s, MB/s, peak
 * RSS, CPU seconds and the ratio mailbridge / dsync (> 1 = mailbridge faster);
 * then times a delta pass over the unchanged large mailbox. Every target is
 * compared with its source afterwards (per folder: SHA-256 of the bytes, flags,
 * INTERNALDATE), so a figure never comes from an incomplete copy. A benchmark,
 * not a test: it never fails on a time. Setup (lab, corpus load, read-back) is not timed;
 * the source is read back once before any timed run, so both tools see it warm.
 *
 *   npm run bench:migrate -- [--messages 6000] [--each N] [--mailboxes 8] [--rounds 2] [--cases abc] [--profile DIR] [--variant ENV=V,...] [--settle]
 *
 * Before every round it prints what a new file costs where the target writes (lib/fs-probe.ts): on this machine's
 * journal-less ext4, files deleted in the last minutes (an earlier bench's or the tests' clean-up) make every new
 * file dear for both tools; --settle waits (up to 330 s) until a new file is cheap again.
 * --each is the size of every mailbox of (b) (default messages / 4), --messages that of (a) and of (c)'s. Each case runs
 * --rounds times, mailbridge and dsync back to back into fresh target users, the order
 * swapped every round; on a shared machine only these same-round ratios mean anything.
 * mailbridge runs in a child process of its own (`--child`), so its peak RSS is
 * the engine's, not this driver's corpus; --profile DIR runs it with --cpu-prof.
 * MAILBRIDGE_MIGRATION_BATCH is passed through, as with the CLI. --cases a, b, c or any two of them runs those cases only.
 * The child's peak RSS is the whole process, worker threads included.
 * --variant ENV=V,... adds a second mailbridge run per round with that environment (e.g.
 * MAILBRIDGE_APPEND_CONNECTIONS=1, MAILBRIDGE_FOLDER_LANES=1 or MAILBRIDGE_LANE_MIN=1000, MAILBRIDGE_SHARE_READER=1 or 0), on the other side of the dsync run (A D B, then B D A), for an A/B in one run.
 * Each run also prints the CPU of both Dovecots (all their processes), which the machine's load hardly changes.
 * Diagnostics: MB_BENCH_TIMELINE=1 prints the machine's idle and iowait cores per 250 ms of each mailbridge run and
 * each user's seconds; MB_BENCH_NODE_FLAGS="--trace-deopt ..." passes flags to the child's node, and
 * MB_BENCH_CHILD_OUT=FILE keeps its whole stdout; with --variant, MB_BENCH_NODE_FLAGS=... is the variant's only. The timeline also
 * prints the run's CLOCK_MONOTONIC window, to cut a `perf record -k CLOCK_MONOTONIC` profile to it. bench/lib/bound-probe.ts
 * measures the bound of case (b) (APPEND only, a lean read+append proxy, dsync).
 * Each mailbridge run also prints its main thread's CPU (the rest of the child's is V8's compiler and GC threads) and
 * the machine's busy and softirq seconds over its timed window (the driver's "machine busy" includes the child's start).
 * Diagnostics: `--variant MB_BENCH_WARM=1` copies the same mailboxes once into other target users before the variant's
 * clock starts (a warm engine, as in a long run; the variant's CPU line then includes that copy); MB_BENCH_NICE=N (as a
 * variant or for every run) runs the engine at that nice value (below 0 needs root).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, setPriority } from 'node:os';
import { join } from 'node:path';
import { runBenchChild } from './lib/child.js';
import { benchLab } from './lib/bench-lab.js';
import { Secret } from '../src/core/index.js';
import type { SystemConfig } from '../src/config/index.js';
import { migrateUsers, type UserPassReport } from '../src/migration/index.js';
import { silentLogger } from '../src/observe/index.js';
import { openStore } from '../src/store/index.js';
import {
  LAB_HOST, attachLab, labDir, labUser, newMailUsers, type DovecotInfo, type LabInfo,
} from '../test/harness/index.js';
import { masterSession, newMigrationUsers } from '../test/harness/mail.js';
import { loadMailbox } from './lib/mail-corpus.js';
import { compareDigests, mailboxDigest, type MailboxDigest } from './lib/mailbox-digest.js';
import { childrenCpu, runSampled, treeCpu, type ProcRun } from './lib/proc-peak.js';
import { QUIET_US, settleFileCreation } from './lib/fs-probe.js';
import { warmFiles } from './lib/page-cache.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---------------------------------------------------------------- child: one mailbridge pass

/** `targets[i]`: the cloud user addresses[i] is copied into (a fresh one per run), logged in through the master user. */
interface ChildArgs { labDir: string; addresses: string[]; targets: string[]; store: string; concurrency: number; warmTargets?: string[] }
interface ChildResult { seconds: number; maxRssMb: number; cpuSeconds: number; sysSeconds: number; mainThreadCpu: number; windowBusy: number; windowSoftirq: number; ok: boolean; appended: number; bytes: number; seen: number; errors: string[] }

function systemOf(info: DovecotInfo): SystemConfig {
  return { name: info.system, imap: { host: LAB_HOST, port: info.imapPort, tls: 'none', admin: { user: info.masterUser, password: new Secret(info.masterPassword), mode: 'master' } } };
}

/**
 * MB_BENCH_SQLCPU=1: the CPU time spent inside SQLite statements (better-sqlite3 runs them synchronously, so
 * process.cpuUsage around each call is exact), printed on stderr at the end: how much of the engine's CPU the state is.
 */
async function sqlCpuMeter(): Promise<(() => string) | undefined> {
  if (process.env.MB_BENCH_SQLCPU !== '1') return undefined;
  const { default: Db } = await import('better-sqlite3');
  let us = 0;
  let calls = 0;
  let wallMs = 0;
  let maxWallMs = 0;
  const per = new Map<string, [number, number]>();
  const proto = Db.prototype as unknown as { prepare: (sql: string) => Record<string, unknown> };
  const prepare = proto.prepare;
  proto.prepare = function (this: unknown, sqlText: string) {
    const stmt = prepare.call(this, sqlText);
    for (const m of ['run', 'all', 'get']) {
      const f = stmt[m] as (...x: unknown[]) => unknown;
      stmt[m] = (...x: unknown[]) => { const c0 = process.cpuUsage(); const w0 = performance.now(); try { return f.apply(stmt, x); } finally { const c = process.cpuUsage(c0); us += c.user + c.system; calls++;
        const w = performance.now() - w0; wallMs += w; maxWallMs = Math.max(maxWallMs, w);
        const k = sqlText.replace(/\s+/g, ' ').slice(0, 90); const e = per.get(k) ?? [0, 0]; e[0]++; e[1] += c.user + c.system; per.set(k, e); } };
    }
    return stmt;
  };
  return () => `SQLite statements: ${calls} calls, ${(us / 1e6).toFixed(2)} s CPU, ${(wallMs / 1000).toFixed(2)} s wall (longest ${maxWallMs.toFixed(1)} ms)\n${[...per].sort((x, y) => y[1][1] - x[1][1]).slice(0, 8)
    .map(([k, [n, t]]) => `    ${(t / 1e6).toFixed(3)} s ${n}x ${k}`).join('\n')}`;
}

/** The machine's CPU times so far (the first line of /proc/stat, in ticks of 10 ms: user nice system idle iowait irq softirq ...). */
function cpuTimes(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
}

/** Busy (neither idle nor iowait) and softirq seconds of cpuTimes() figures. */
function busyOf(f: readonly number[]): { busy: number; softirq: number } {
  return { busy: (f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0)) / 100, softirq: (f[6] ?? 0) / 100 };
}

/** The main thread's CPU seconds (user + system, /proc/self/task/PID/stat): the rest of the process' CPU is V8's compiler and GC helpers and libuv's pool. */
function mainThreadCpu(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function child(a: ChildArgs): Promise<void> {
  // Diagnostic only: MB_BENCH_NICE=N runs the engine at that nice value (needs root below 0).
  if (process.env.MB_BENCH_NICE) setPriority(Number(process.env.MB_BENCH_NICE));
  const meter = await sqlCpuMeter();
  const lab = attachLab(a.labDir);
  const store = await openStore({ sqlite: a.store });
  try {
    const batch = Number.parseInt(process.env.MAILBRIDGE_MIGRATION_BATCH ?? '', 10);
    const appenders = Number.parseInt(process.env.MAILBRIDGE_APPEND_CONNECTIONS ?? '', 10);
    const lanes = Number.parseInt(process.env.MAILBRIDGE_FOLDER_LANES ?? '', 10);
    const laneMin = Number.parseInt(process.env.MAILBRIDGE_LANE_MIN ?? '', 10);
    const share = process.env.MAILBRIDGE_SHARE_READER;
    const deps = {
      migration: { from: 'legacy', to: 'cloud', concurrency: a.concurrency, deleteOnTarget: false, skipDeleted: true },
      source: systemOf(lab.dovecot.legacy), target: systemOf(lab.dovecot.cloud), db: store.db, log: silentLogger(),
      ...(batch > 0 ? { batchMessages: batch } : {}),
      ...(appenders > 0 ? { appendConnections: appenders } : {}),
      ...(lanes > 0 ? { folderLanes: lanes } : {}),
      ...(laneMin > 0 ? { laneMinMessages: laneMin } : {}),
      ...(share === '1' || share === '0' ? { shareReader: share === '1' } : {}),
    };
    const cloud = lab.dovecot.cloud;
    // A per-user target login (as in the users CSV), so every run starts on an empty target user.
    const usersFor = (targets: string[]) => a.addresses.map((address, i) => ({ address, target: { user: `${targets[i]!}*${cloud.masterUser}`, password: new Secret(cloud.masterPassword) } }));
    if (a.warmTargets) {
      // MB_BENCH_WARM=1: the same copy once before the clock starts, into other target users with a state of its own,
      // so the timed run finds V8's compiled code warm, as the later users of a long run do.
      const warmStore = await openStore({ sqlite: `${a.store}.warm` });
      try { await migrateUsers({ ...deps, db: warmStore.db }, usersFor(a.warmTargets), { concurrency: a.concurrency }); } finally { await warmStore.close(); }
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const users = usersFor(a.targets);
    const timeline: string[] = [];
    const stat0 = cpuTimes();
    let last = stat0;
    const tick = process.env.MB_BENCH_TIMELINE === '1' ? setInterval(() => { const b = cpuTimes(); timeline.push(`${((b[3]! - last[3]!) / 25).toFixed(1)}/${((b[4]! - last[4]!) / 25).toFixed(1)}`); last = b; }, 250) : undefined;
    const mono0 = process.hrtime.bigint();
    const main0 = mainThreadCpu();
    const reports: UserPassReport[] = await migrateUsers(deps, users, { concurrency: a.concurrency });
    const seconds = (performance.now() - t0) / 1000;
    if (process.env.MB_BENCH_TIMELINE === '1') process.stderr.write(`  window (CLOCK_MONOTONIC s): ${Number(mono0) / 1e9} ${Number(process.hrtime.bigint()) / 1e9} pid ${process.pid}\n`);
    if (tick) {
      clearInterval(tick);
      process.stderr.write(`  idle/iowait cores per 250 ms: ${timeline.join(' ')}\n  user seconds: ${reports.map((r) => (r.ms / 1000).toFixed(2)).join(' ')}\n`);
    }
    const cpu = process.cpuUsage(cpu0);
    const [w0, w1] = [busyOf(stat0), busyOf(cpuTimes())];
    const out: ChildResult = {
      seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, cpuSeconds: (cpu.user + cpu.system) / 1e6, sysSeconds: cpu.system / 1e6,
      mainThreadCpu: mainThreadCpu() - main0, windowBusy: w1.busy - w0.busy, windowSoftirq: w1.softirq - w0.softirq,
      ok: reports.every((r) => r.ok),
      appended: reports.reduce((n, r) => n + r.totals.appended, 0),
      bytes: reports.reduce((n, r) => n + r.totals.appendedBytes, 0),
      seen: reports.reduce((n, r) => n + r.totals.seen, 0),
      errors: reports.flatMap((r) => [...(r.error ? [`${r.address}: ${r.error.message}`] : []), ...r.refusals.slice(0, 3).map((x) => `${r.address} ${x.folder}/${x.uid}: ${x.reason}`)]),
    };
    if (meter) process.stderr.write(`  ${meter()}\n`);
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- driver

function runChild(a: ChildArgs, profileDir: string | undefined, env?: Record<string, string>): Promise<ChildResult> {
  return runBenchChild<ChildResult>(import.meta.url, JSON.stringify(a), profileDir, env);
}

/** `--variant "A=1,B=2"`: environment for a second mailbridge run per round (same targets' kind, same dsync run to compare with). */
function variantEnv(spec: string | undefined): Record<string, string> | undefined {
  if (!spec) return undefined;
  return Object.fromEntries(spec.split(',').map((kv) => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)]; }));
}

/** The issue's dsync command: the cloud Dovecot's doveadm pulls `source` from legacy over imapc into `target`. */
function dsyncArgs(lab: LabInfo, source: string, target: string): string[] {
  const l = lab.dovecot.legacy;
  return ['-c', lab.dovecot.cloud.config, '-o', `imapc_host=${LAB_HOST}`, '-o', `imapc_port=${l.imapPort}`, '-o', `imapc_user=${source}`,
    '-o', `imapc_master_user=${l.masterUser}`, '-o', `imapc_password=${l.masterPassword}`, '-o', 'imapc_features=rfc822.size fetch-headers',
    '-o', 'mail_prefetch_count=20', 'backup', '-R', '-u', target, 'imapc:'];
}

function dsync(lab: LabInfo, source: string, target: string): Promise<ProcRun> {
  const u = labUser();
  // As root, doveadm runs as the lab user, like the harness's doveadm(): its files must stay the server's.
  return runSampled('doveadm', dsyncArgs(lab, source, target), { cwd: lab.dovecot.cloud.dir, ...(u.root ? { uid: u.uid, gid: u.gid } : {}) });
}

async function digestOf(info: DovecotInfo, address: string): Promise<MailboxDigest> {
  const c = await masterSession(info, address);
  try {
    return await mailboxDigest(c);
  } finally {
    await c.logout().catch(() => c.close());
  }
}

async function verify(lab: LabInfo, sources: Map<string, MailboxDigest>, pairs: [string, string][]): Promise<string> {
  const bad: string[] = [];
  for (const [src, tgt] of pairs) {
    const d = compareDigests(sources.get(src)!, await digestOf(lab.dovecot.cloud, tgt));
    if (d) bad.push(`${tgt}: ${d}`);
  }
  return bad.length === 0 ? `target = source (${pairs.length} mailbox(es): per folder SHA-256, flags, INTERNALDATE)` : `DIFFERS: ${bad.join(' | ')}`;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const MB = 1048576;

/** CPU seconds the whole machine spent busy so far (all cores, /proc/stat): servers, kernel and clients alike. */
function machineBusy(): { busy: number; softirq: number } {
  return busyOf(cpuTimes());
}

/** The lab's Dovecot masters, for the servers' CPU per run (set once the lab runs). */
let masters: { legacy: number; cloud: number } | undefined;

/**
 * Runs `fn` and adds the machine's busy CPU seconds over its run (fair to compare only on an otherwise quiet
 * machine) and each Dovecot's own (all its processes, exited imap processes included: proc-peak.ts treeCpu),
 * which do not depend on what else runs on the machine.
 */
async function withMachineCpu<T>(fn: () => Promise<T>): Promise<T & { machineCpu: number; machineSoftirq: number; sourceCpu: number; targetCpu: number }> {
  const before = machineBusy();
  const s0 = masters ? treeCpu(masters.legacy) : 0;
  const t0 = masters ? treeCpu(masters.cloud) : 0;
  const x = await fn();
  const after = machineBusy();
  return { ...x, machineCpu: after.busy - before.busy, machineSoftirq: after.softirq - before.softirq, sourceCpu: masters ? treeCpu(masters.legacy) - s0 : 0, targetCpu: masters ? treeCpu(masters.cloud) - t0 : 0 };
}

function rate(label: string, messages: number, bytes: number, seconds: number, rssMb: number, cpu: number, rssNote = ''): string {
  return `${label}: ${f2(seconds)} s, ${(messages / seconds).toFixed(0)} msg/s, ${f1(bytes / MB / seconds)} MB/s, peak RSS ${rssMb.toFixed(0)} MB${rssNote}, CPU ${f1(cpu)} s`;
}

async function main(): Promise<void> {
  const messages = Number(argValue('--messages') ?? 6000);
  const each = Number(argValue('--each') ?? Math.ceil(messages / 4));
  const mailboxes = Number(argValue('--mailboxes') ?? 8);
  const profileDir = argValue('--profile');
  const rounds = Number(argValue('--rounds') ?? 2);
  const only = argValue('--cases');
  const variant = variantEnv(argValue('--variant'));
  const settle = process.argv.includes('--settle');
  const bl = benchLab('mb-bench-mig-');
  const { dir, cleanup } = bl;
  const say = (s: string) => console.log(s);
  try {
    say(`bench/migrate ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, load average at start ${loadavg().map(f2).join(' ')}`);
    const t0 = performance.now();
    const lab = await bl.start();
    const pidOf = (name: string) => lab.servers.find((x) => x.name === name)?.pid ?? 0;
    masters = { legacy: pidOf('dovecot-legacy'), cloud: pidOf('dovecot-cloud') };
    const wants = (c: string) => !only || only.includes(c);
    const [big, ...par] = await newMigrationUsers(lab, 1 + mailboxes, 'bench');
    // Case (c): case (b) with mailboxes as large as (a)'s, the issue's reference mailbox (loaded only when (c) runs).
    const large = wants('c') ? await newMigrationUsers(lab, mailboxes, 'benchl') : [];
    const sources = new Map<string, MailboxDigest>();
    const load = async (address: string, count: number, seed: number) => {
      const s = await masterSession(lab.dovecot.legacy, address);
      try { await loadMailbox(lab.dovecot.legacy, s, address, count, seed); } finally { await s.logout().catch(() => s.close()); }
      // Read back once: the digest to verify against, and a warm source (page cache, Dovecot's cache) for both tools alike.
      sources.set(address, await digestOf(lab.dovecot.legacy, address));
    };
    await load(big!.address, messages, 1);
    for (let i = 0; i < par.length; i += 4) await Promise.all(par.slice(i, i + 4).map((u, j) => load(u.address, each, 100 + i + j)));
    for (let i = 0; i < large.length; i += 4) await Promise.all(large.slice(i, i + 4).map((u, j) => load(u.address, messages, 200 + i + j)));
    const bigSrc = sources.get(big!.address)!;
    say(`setup (not timed): lab started, corpus loaded and read back in ${f1((performance.now() - t0) / 1000)} s; `
      + `large mailbox ${bigSrc.messages} messages, ${f1(bigSrc.bytes / MB)} MB, ${bigSrc.folders.size} non-empty folders; `
      + `${par.length} x ${each} messages for the parallel case${large.length ? `, ${large.length} x ${messages} for case (c)` : ''}`);

    // ---- rounds: each case once per round, mailbridge and dsync back to back into fresh
    // targets, the order swapped every round (ABBA) so neither always runs under the other's
    // after-load; each round gives its own ratio.
    const fresh = async (n: number) => (await newMailUsers(lab, 'cloud', n, { local: 'tgt' })).map((u) => u.address);
    // What a new file costs where the target writes (fs-probe.ts): an earlier run's deletions can dominate the runs.
    const fsProbe = async () => {
      const p = await settleFileCreation(labDir(join(lab.dovecot.cloud.dir, 'mail', lab.domain)), settle, 330, say);
      say(`  file creation where the target writes: ${p.us.toFixed(0)} us per file${p.us > QUIET_US ? ` (above the quiet ${QUIET_US} us: earlier deletions still cost, see fs-probe.ts)` : ''}`
        + `${p.waited >= 20 ? `, after waiting ${p.waited.toFixed(0)} s` : ''}`);
    };
    const cases = [
      { name: '(a)', label: '1 mailbox', sources: [big!.address], concurrency: 1 },
      { name: '(b)', label: `${par.length} mailboxes`, sources: par.map((u) => u.address), concurrency: par.length },
      { name: '(c)', label: `${large.length} mailboxes x ${messages}`, sources: large.map((u) => u.address), concurrency: large.length },
    ];
    let deltaStore: { store: string; targets: string[] } | undefined;
    for (const c of cases.filter((x) => wants(x.name[1]!))) {
      const msgs = c.sources.reduce((n, a) => n + sources.get(a)!.messages, 0);
      const bytes = c.sources.reduce((n, a) => n + sources.get(a)!.bytes, 0);
      const ratios: number[] = [];
      const vratios: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await fsProbe();
        const mbTargets = await fresh(c.sources.length);
        const dsTargets = await fresh(c.sources.length);
        const vTargets = variant ? await fresh(c.sources.length) : [];
        const store = join(dir, `state-${c.name[1]}-${r}.db`);
        deltaStore ??= { store, targets: mbTargets };
        const runMbWith = async (targets: string[], st: string, env?: Record<string, string>, warmTargets?: string[]) => {
          const x = await runChild({ labDir: dir, addresses: c.sources, targets, store: st, concurrency: c.concurrency, ...(warmTargets ? { warmTargets } : {}) }, profileDir, env);
          if (x.errors.length) say(`  mailbridge errors: ${x.errors.join('; ')}`);
          return x;
        };
        // Untimed, before each run: the source's files read into the page cache (lib/page-cache.ts), so both tools read a warm source.
        const sourceDirs = c.sources.map((a) => join(lab.dovecot.legacy.dir, 'mail', lab.domain, a.split('@')[0]!));
        const warm = (label: string) => {
          const w = warmFiles(sourceDirs);
          say(`  source warmed for ${label}: ${w.files} files, ${f1(w.size / MB)} MB, ${f1(w.cachedBefore / MB)} MB of it were cached (read in ${f2(w.seconds)} s)`);
        };
        const measured = <T>(label: string, fn: () => Promise<T>) => { warm(label); return withMachineCpu(fn); };
        const runMb = () => runMbWith(mbTargets, store);
        // The variant runs on the other side of dsync from the default run: A D B, then B D A.
        const vWarm = variant?.MB_BENCH_WARM === '1' ? await fresh(c.sources.length) : undefined;
        const runV = () => runMbWith(vTargets, join(dir, `state-${c.name[1]}-${r}-v.db`), variant, vWarm);
        const vFirst = variant && r % 2 === 1 ? await measured('the variant', runV) : undefined;
        const runDs = async () => {
          const t = performance.now();
          const cpu0 = childrenCpu();
          const rs = await Promise.all(c.sources.map((a, i) => dsync(lab, a, dsTargets[i]!)));
          // The doveadm processes' CPU, exactly (they are reaped by now); the samples in rs miss each one's last moments.
          return { seconds: (performance.now() - t) / 1000, rs, cpu: childrenCpu() - cpu0 };
        };
        const order = r % 2 === 0 ? 'mailbridge first' : 'dsync first';
        const mb = r % 2 === 0 ? await measured('mailbridge', runMb) : undefined;
        const ds = await measured('dsync', runDs);
        const mbr = mb ?? await measured('mailbridge', runMb);
        const vr = vFirst ?? (variant ? await measured('the variant', runV) : undefined);
        const rss = ds.rs.reduce((n, x) => n + x.peakRssMb, 0);
        say(`${c.name} round ${r + 1} (${order}), load average ${loadavg().map(f2).join(' ')}`);
        say(rate(`  mailbridge ${c.label}`, msgs, bytes, mbr.seconds, mbr.maxRssMb, mbr.cpuSeconds) + ` (${f2(mbr.sysSeconds)} s of it in the kernel, ${f2(mbr.mainThreadCpu)} s on the main thread; appended ${mbr.appended})`);
        say(rate(`  dsync      ${c.label}`, msgs, bytes, ds.seconds, rss, ds.cpu,
          ds.rs.length > 1 ? ` (sum of ${ds.rs.length} doveadm processes, max one ${Math.max(...ds.rs.map((x) => x.peakRssMb)).toFixed(0)} MB, sampled)` : ' (doveadm, sampled)'));
        say(`  machine CPU busy (all processes, servers included): mailbridge run ${f1(mbr.machineCpu)} s (its timed window ${f1(mbr.windowBusy)} s, softirq ${f2(mbr.windowSoftirq)} s), dsync run ${f1(ds.machineCpu)} s (softirq ${f2(ds.machineSoftirq)} s)`);
        const per = (s: number) => `${(s / msgs * 1000).toFixed(3)} ms/msg`;
        say(`  CPU per tool (client + source Dovecot + target Dovecot): mailbridge ${f2(mbr.cpuSeconds)} + ${f2(mbr.sourceCpu)} + ${f2(mbr.targetCpu)} = `
          + `${f2(mbr.cpuSeconds + mbr.sourceCpu + mbr.targetCpu)} s (${per(mbr.cpuSeconds + mbr.sourceCpu + mbr.targetCpu)}); `
          + `dsync ${f2(ds.cpu)} + ${f2(ds.sourceCpu)} + ${f2(ds.targetCpu)} = ${f2(ds.cpu + ds.sourceCpu + ds.targetCpu)} s (${per(ds.cpu + ds.sourceCpu + ds.targetCpu)})`);
        ratios.push(ds.seconds / mbr.seconds);
        say(`  ratio mailbridge / dsync (throughput): ${f2(ds.seconds / mbr.seconds)}`);
        if (vr) {
          vratios.push(ds.seconds / vr.seconds);
          say(rate(`  variant ${argValue('--variant')!}`, msgs, bytes, vr.seconds, vr.maxRssMb, vr.cpuSeconds) + ` (appended ${vr.appended})`);
          say(`    CPU client + source + target: ${f2(vr.cpuSeconds)} + ${f2(vr.sourceCpu)} + ${f2(vr.targetCpu)} = ${f2(vr.cpuSeconds + vr.sourceCpu + vr.targetCpu)} s `
            + `(default: ${f2(mbr.cpuSeconds + mbr.sourceCpu + mbr.targetCpu)} s); machine busy ${f1(vr.machineCpu)} s; ratio variant / dsync ${f2(ds.seconds / vr.seconds)}, `
            + `variant / default (throughput) ${f2(mbr.seconds / vr.seconds)}`);
          say(`    verify variant: ${await verify(lab, sources, c.sources.map((a, i) => [a, vTargets[i]!]))}`);
        }
        say(`  verify mailbridge: ${await verify(lab, sources, c.sources.map((a, i) => [a, mbTargets[i]!]))}`);
        say(`  verify dsync:      ${await verify(lab, sources, c.sources.map((a, i) => [a, dsTargets[i]!]))}`);
      }
      say(`${c.name} ratio per round: ${ratios.map(f2).join(', ')}; mean ${f2(ratios.reduce((a, b) => a + b, 0) / ratios.length)} (aim >= 1.0)`);
      if (vratios.length) say(`${c.name} variant ratio per round: ${vratios.map(f2).join(', ')}; mean ${f2(vratios.reduce((a, b) => a + b, 0) / vratios.length)}`);
      if (c.name === '(a)' && deltaStore) {
        // ---- delta pass over the unchanged large mailbox (state and target of round 1)
        const d = await runChild({ labDir: dir, addresses: c.sources, targets: deltaStore.targets, store: deltaStore.store, concurrency: 1 }, profileDir);
        say(`delta, unchanged mailbox: mailbridge ${f2(d.seconds)} s (appended ${d.appended}, peak RSS ${d.maxRssMb.toFixed(0)} MB)`);
      }
    }
    say(`load average at end ${loadavg().map(f2).join(' ')}`);
  } finally {
    await cleanup();
  }
}

if (process.argv.includes('--child')) await child(JSON.parse(argValue('--child')!) as ChildArgs);
else await main();
