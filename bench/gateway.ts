/**
 * bench/gateway (issue 4, "Speed"): Postfix's smtp-source as the load
 * generator, smtp-sink (LMTP) as the destination, and in the same run
 *   (a) the mailbridge gateway (`node bin/mailbridge.js gateway`, spool fsync'd
 *       before every 250), and
 *   (b) a Postfix 3.7 relay from the lab harness (its queue is fsync'd before
 *       the 250 too), delivering to the same sink over LMTP,
 *   (c) optionally a second gateway from another checkout (`--before DIR`, a
 *       tree with node_modules), to compare two versions in one run.
 * Prints accepted msgs/s (smtp-source wall time), end-to-end msgs/s (until
 * the sink has seen every message), p50/p99 time from the 250 to delivery,
 * peak RSS and the ratio gateway / Postfix. A benchmark, not a test: it never
 * fails on a time.
 *
 * Time from 250 to delivery: a pass-through tap in front of each MTA notes
 * when each "250 ... queued as ID" reply passed; one between the MTA and the
 * sink notes when each message's final CRLF.CRLF passed, with the queue id of
 * its top Received header (bench/lib/smtp-tap.ts). Both MTAs go through the
 * same taps.
 *
 *   npm run bench:gateway -- [--messages N] [--size BYTES] [--concurrency C] [--large N] [--before DIR] [--profile DIR]
 *
 * --profile DIR writes a V8 CPU profile of each gateway process (written when it stops, at the end).
 *
 * Defaults follow the issue: 20,000 x 5 KB at concurrency 20, then 2,000 x 500 KB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, groupMembers, startPostfix, stopPostfix, type DovecotInfo } from '../test/harness/index.js';
import { acceptTap, deliverTap, type Tap } from './lib/smtp-tap.js';

const REPO = new URL('../', import.meta.url).pathname;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** smtp-sink -c's counter is buffered when stdout is a pipe, so delivery is read from the tap instead. */
async function startSink(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn('/usr/sbin/smtp-sink', ['-u', 'nobody', '-L', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { child, port };
}

function smtpSource(port: number, messages: number, size: number, sessions: number): Promise<number> {
  const t0 = performance.now();
  const child = spawn('/usr/sbin/smtp-source', ['-s', String(sessions), '-m', String(messages), '-l', String(size), '-f', 'bench@example.org', '-t', 'ann@example.com', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`smtp-source exited ${code}: ${err}`)))));
}

function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return kb / 1024;
}

/** CPU seconds per process so far: its own (utime+stime) and its reaped children's (cutime+cstime). */
function cpuTimes(pids: number[]): Map<number, { self: number; children: number }> {
  const out = new Map<number, { self: number; children: number }>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      out.set(pid, { self: (f[11]! + f[12]!) / 100, children: (f[13]! + f[14]!) / 100 });
    } catch { /* gone */ }
  }
  return out;
}

/**
 * CPU seconds an MTA's processes used between two snapshots: every process's
 * own time since the first snapshot (or since it started), plus what exited
 * children left with their parent (Postfix's smtpd, cleanup and lmtp come and go).
 */
function cpuSpent(before: Map<number, { self: number; children: number }>, after: Map<number, { self: number; children: number }>): number {
  let s = 0;
  for (const [pid, a] of after) {
    const b = before.get(pid);
    s += a.self - (b?.self ?? 0) + a.children - (b?.children ?? 0);
  }
  return s;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Figures { accepted: number; endToEnd: number; p50: number; p99: number; rss: number; missing: number; cpuMsPerMsg: number }

/** An MTA under test: its front port (through the accept tap) and its two taps. */
interface Target { name: string; port: number; accept: Tap; deliver: Tap; pids: () => number[] }

async function measure(t: Target, n: number, size: number, sessions: number): Promise<Figures> {
  t.accept.times.clear();
  t.deliver.times.clear();
  const cpu0 = cpuTimes(t.pids());
  const t0 = Date.now();
  const sendSeconds = await smtpSource(t.port, n, size, sessions);
  // Every message smtp-source got a 250 for must reach the sink; give up after 10 minutes.
  const deadline = Date.now() + 600_000;
  const delivered = (): number => [...t.accept.times.keys()].filter((id) => t.deliver.times.has(id)).length;
  while (delivered() < t.accept.times.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const total = (Math.max(...t.deliver.times.values()) - t0) / 1000;
  const lat = [...t.accept.times].flatMap(([id, at]) => {
    const d = t.deliver.times.get(id);
    return d === undefined ? [] : [d - at];
  }).sort((a, b) => a - b);
  const cpu = cpuSpent(cpu0, cpuTimes(t.pids()));
  return {
    cpuMsPerMsg: (1000 * cpu) / n,
    accepted: n / sendSeconds, endToEnd: n / total, p50: percentile(lat, 50), p99: percentile(lat, 99), rss: rssMb(t.pids()),
    missing: t.accept.times.size - lat.length + (n - t.accept.times.size),
  };
}

async function startGateway(repo: string, dir: string, backendPort: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'legacy.csv'), 'address,name,aliases\nann@example.com,Ann,\n');
  writeFileSync(join(dir, 'cloud.csv'), 'address,name,aliases\n');
  writeFileSync(join(dir, 'mailbridge.yaml'), `organization: Bench
domains: [example.com]
store: { sqlite: ./mailbridge.db }
systems:
  legacy: { smtp: { host: 127.0.0.1, port: ${backendPort}, protocol: lmtp, tls: none }, users: ./legacy.csv }
  cloud: { smtp: { host: 127.0.0.1, port: ${backendPort}, protocol: lmtp, tls: none }, users: ./cloud.csv }
gateway:
  listen: [{ host: 127.0.0.1, port: ${port} }]
  spool: ./spool
  hostname: gw.bench
  maxMessageSize: 50MB
`);
  const profile = strArg('--profile');
  const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []), join(repo, 'bin/mailbridge.js'), '--config', join(dir, 'mailbridge.yaml'), '--log-level', 'warn', 'gateway'], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('listening')) resolve(); });
    child.once('exit', (c) => reject(new Error(`gateway exited ${c}`)));
  });
  return { child, port };
}

const fmt = (x: number): string => x.toFixed(0);
const ms = (x: number): string => (Number.isNaN(x) ? '-' : `${x.toFixed(0)} ms`);

async function main(): Promise<void> {
  const n = arg('--messages', 20_000);
  const size = arg('--size', 5_000);
  const sessions = arg('--concurrency', 20);
  const large = arg('--large', 2_000);
  const before = strArg('--before');
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-gw-'));
  chmodSync(dir, 0o711);
  const sink = await startSink();
  const children: ChildProcess[] = [];
  const targets: Target[] = [];
  const gateways: [string, string][] = [['gateway', REPO], ...(before ? [['gateway (before)', before] as [string, string]] : [])];
  for (const [name, repo] of gateways) {
    const deliver = await deliverTap(sink.port);
    const gw = await startGateway(repo, join(dir, name.replace(/\W+/g, '-')), deliver.port);
    children.push(gw.child);
    targets.push({ name, port: 0, accept: await acceptTap(gw.port), deliver, pids: () => [gw.child.pid!] });
  }
  const pfDeliver = await deliverTap(sink.port);
  mkdirSync(join(dir, 'pf'), { mode: 0o711 });
  const pf = await startPostfix(join(dir, 'pf'), { system: 'legacy', lmtpPort: pfDeliver.port } as DovecotInfo);
  const postfix: Target = { name: 'Postfix', port: 0, accept: await acceptTap(pf.info.smtpPort), deliver: pfDeliver, pids: () => groupMembers(pf.server.pid) };
  for (const t of [...targets, postfix]) t.port = t.accept.port;
  const killAll = (): void => { for (const c of children) c.kill('SIGKILL'); sink.child.kill('SIGKILL'); try { process.kill(-pf.server.pid, 'SIGTERM'); } catch { /* gone */ } };
  process.once('SIGTERM', () => { killAll(); process.exit(143); });
  process.once('SIGINT', () => { killAll(); process.exit(130); });
  const loads: number[] = [];
  try {
    const rows: [string, string, Figures, Figures][] = [];
    for (const [label, count, bytes] of [[`${n} x ${size} B`, n, size], [`${large} x 500 KB`, large, 500_000]] as const) {
      if (count === 0) continue;
      const figs = new Map<string, Figures>();
      for (const t of [...targets, postfix]) {
        loads.push(loadavg()[0]!);
        figs.set(t.name, await measure(t, count, bytes, sessions));
        console.error(`${label} ${t.name}: ${JSON.stringify(figs.get(t.name))}`);
      }
      for (const t of targets) rows.push([label, t.name, figs.get(t.name)!, figs.get('Postfix')!]);
    }
    console.log(`\nbench/gateway ${new Date().toISOString()}: smtp-source -s ${sessions} -> (gateway | Postfix relay) -> smtp-sink (LMTP); load average at the starts ${loads.map((l) => l.toFixed(1)).join(', ')}\n`);
    console.log('| load | MTA | accepted/s | end-to-end/s | 250 -> delivery p50 / p99 | peak RSS | CPU per message | Postfix accepted/s | Postfix end-to-end/s | Postfix p50 / p99 | Postfix peak RSS (all daemons) | Postfix CPU per message (all daemons) | ratio accepted | ratio end-to-end | not delivered |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const [label, name, g, p] of rows) {
      console.log(`| ${label} | ${name} | ${fmt(g.accepted)} | ${fmt(g.endToEnd)} | ${ms(g.p50)} / ${ms(g.p99)} | ${fmt(g.rss)} MB | ${g.cpuMsPerMsg.toFixed(2)} ms | ${fmt(p.accepted)} | ${fmt(p.endToEnd)} | ${ms(p.p50)} / ${ms(p.p99)} | ${fmt(p.rss)} MB | ${p.cpuMsPerMsg.toFixed(2)} ms | ${(g.accepted / p.accepted).toFixed(2)} | ${(g.endToEnd / p.endToEnd).toFixed(2)} | ${g.missing} / ${p.missing} |`);
    }
  } finally {
    for (const c of children) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
    await stopPostfix(pf.info, pf.server);
    sink.child.kill('SIGTERM');
    for (const t of [...targets, postfix]) { await t.accept.close(); await t.deliver.close(); }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
