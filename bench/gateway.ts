/**
 * bench/gateway (issue 4, "Speed"): Postfix's smtp-source as the load
 * generator, smtp-sink (LMTP) as the destination, and in the same run
 *   (a) the mailbridge gateway (`node bin/mailbridge.js gateway`, spool fsync'd
 *       before every 250), and
 *   (b) a Postfix 3.7 relay from the lab harness (its queue is fsync'd before
 *       the 250 too), delivering to the same sink over LMTP.
 * Prints accepted msgs/s (smtp-source wall time), end-to-end msgs/s (until the
 * sink has them all), peak RSS and the ratio gateway / Postfix. A benchmark,
 * not a test: it never fails on a time.
 *
 *   npm run bench:gateway -- [--messages N] [--size BYTES] [--concurrency C] [--large N]
 *
 * Defaults follow the issue: 20,000 x 5 KB at concurrency 20, then 2,000 x 500 KB.
 * Not measured yet: p50/p99 time from 250 to delivery (smtp-source reports no
 * per-message times).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, groupMembers, startPostfix, stopPostfix, type DovecotInfo } from '../test/harness/index.js';

const REPO = new URL('../', import.meta.url).pathname;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

interface Sink { child: ChildProcess; port: number }

/** smtp-sink's -c counter is buffered when stdout is a pipe, so delivery is judged by the senders' queues draining. */
async function startSink(): Promise<Sink> {
  const port = await freePort();
  const child = spawn('/usr/sbin/smtp-sink', ['-u', 'nobody', '-L', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { child, port };
}

/** Files left in the given queue folders (recursively). */
function queued(dirs: string[]): number {
  let n = 0;
  for (const d of dirs) {
    try {
      n += readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.endsWith('.state')).length;
    } catch { /* not made yet */ }
  }
  return n;
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

interface Figures { accepted: number; endToEnd: number; rss: number }

async function measure(queueDirs: string[], port: number, n: number, size: number, sessions: number, pids: () => number[]): Promise<Figures> {
  const t0 = performance.now();
  const sendSeconds = await smtpSource(port, n, size, sessions);
  while (queued(queueDirs) > 0) await new Promise((r) => setTimeout(r, 20));
  const total = (performance.now() - t0) / 1000;
  return { accepted: n / sendSeconds, endToEnd: n / total, rss: rssMb(pids()) };
}

async function startGateway(dir: string, sinkPort: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  writeFileSync(join(dir, 'legacy.csv'), 'address,name,aliases\nann@example.com,Ann,\n');
  writeFileSync(join(dir, 'cloud.csv'), 'address,name,aliases\n');
  writeFileSync(join(dir, 'mailbridge.yaml'), `organization: Bench
domains: [example.com]
store: { sqlite: ./mailbridge.db }
systems:
  legacy: { smtp: { host: 127.0.0.1, port: ${sinkPort}, protocol: lmtp, tls: none }, users: ./legacy.csv }
  cloud: { smtp: { host: 127.0.0.1, port: ${sinkPort}, protocol: lmtp, tls: none }, users: ./cloud.csv }
gateway:
  listen: [{ host: 127.0.0.1, port: ${port} }]
  spool: ./spool
  hostname: gw.bench
  maxMessageSize: 50MB
`);
  const child = spawn(process.execPath, [join(REPO, 'bin/mailbridge.js'), '--config', join(dir, 'mailbridge.yaml'), '--log-level', 'warn', 'gateway'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('listening')) resolve(); });
    child.once('exit', (c) => reject(new Error(`gateway exited ${c}`)));
  });
  return { child, port };
}

const fmt = (x: number): string => x.toFixed(0);

async function main(): Promise<void> {
  const n = arg('--messages', 20_000);
  const size = arg('--size', 5_000);
  const sessions = arg('--concurrency', 20);
  const large = arg('--large', 2_000);
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-gw-'));
  chmodSync(dir, 0o711);
  const sink = await startSink();
  const gw = await startGateway(dir, sink.port);
  console.error(`gateway on ${gw.port}, sink on ${sink.port}`);
  const fakeTarget = { system: 'legacy', lmtpPort: sink.port } as DovecotInfo;
  mkdirSync(join(dir, 'pf'), { mode: 0o711 });
  const pf = await startPostfix(join(dir, 'pf'), fakeTarget);
  const killAll = (): void => { gw.child.kill('SIGKILL'); sink.child.kill('SIGKILL'); try { process.kill(-pf.server.pid, 'SIGTERM'); } catch { /* gone */ } };
  process.once('SIGTERM', () => { killAll(); process.exit(143); });
  process.once('SIGINT', () => { killAll(); process.exit(130); });
  try {
    const rows: [string, Figures, Figures][] = [];
    for (const [label, count, bytes] of [[`${n} x ${size} B`, n, size], [`${large} x 500 KB`, large, 500_000]] as const) {
      if (count === 0) continue;
      const g = await measure([join(dir, 'spool', 'queue')], gw.port, count, bytes, sessions, () => [gw.child.pid!]);
      const pfQueues = ['maildrop', 'incoming', 'active', 'deferred', 'hold'].map((q) => join(pf.info.queueDir, q));
      const p = await measure(pfQueues, pf.info.smtpPort, count, bytes, sessions, () => groupMembers(pf.server.pid));
      rows.push([label, g, p]);
    }
    console.log(`\nbench/gateway ${new Date().toISOString()}: smtp-source -s ${sessions} -> (gateway | Postfix relay) -> smtp-sink (LMTP)\n`);
    console.log('| load | gateway accepted/s | gateway end-to-end/s | Postfix accepted/s | Postfix end-to-end/s | ratio accepted | ratio end-to-end | gateway peak RSS | Postfix peak RSS (all daemons) |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const [label, g, p] of rows) {
      console.log(`| ${label} | ${fmt(g.accepted)} | ${fmt(g.endToEnd)} | ${fmt(p.accepted)} | ${fmt(p.endToEnd)} | ${(g.accepted / p.accepted).toFixed(2)} | ${(g.endToEnd / p.endToEnd).toFixed(2)} | ${fmt(g.rss)} MB | ${fmt(p.rss)} MB |`);
    }
  } finally {
    gw.child.kill('SIGTERM');
    await new Promise((r) => gw.child.once('exit', r));
    await stopPostfix(pf.info, pf.server);
    sink.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
