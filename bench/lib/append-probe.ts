/**
 * A probe, not a benchmark: what the lab's target (cloud) Dovecot spends in CPU
 * per APPENDed message, for different ways of appending the same 1,500 corpus
 * messages (connections, MULTIAPPEND size, a SELECTed control session). CPU is
 * read from /proc for the Dovecot master and all its children (live ones plus
 * the reaped ones via cutime/cstime), so it is the whole server's cost; and,
 * for comparison, doveadm's own CPU for `doveadm backup` of the same messages
 * (dsync writes the target's storage itself). Used for bench/RESULTS.md's
 * 2026-11-22 session 4 findings; run it under `perf record -a -g` to see where
 * the server's time goes.
 *
 *   npx tsx bench/lib/append-probe.ts [--each 1500] [--rounds 2] [--only 0,1,6]   (strategy numbers, see `all`)
 *   PROBE_STRACE=DIR ...   strace -c of the server per strategy and of doveadm
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { benchLab } from './bench-lab.js';
import { corpus, loadMailbox, mutf7, type CorpusMessage } from './mail-corpus.js';
import { runSampled, treeCpu } from './proc-peak.js';
import { PipelinedAppender } from '../../src/migration/appender.js';
import { imapDateTime } from '../../src/migration/imap-parse.js';
import { LAB_HOST, labUser, newMailUsers, type DovecotInfo, type LabInfo } from '../../test/harness/index.js';
import { masterSession } from '../../test/harness/mail.js';

const arg = (n: string): string | undefined => { const i = process.argv.indexOf(n); return i >= 0 ? process.argv[i + 1] : undefined; };

/** doveadm's own user and sys CPU (bash's `times` of its child). */
function timed(cmd: string[], cwd: string, uid?: number, gid?: number): Promise<{ user: number; sys: number }> {
  return new Promise((resolve, reject) => {
    const c = spawn('bash', ['-c', '"$@" >/dev/null; rc=$?; times; exit $rc', 'x', ...cmd], { cwd, stdio: ['ignore', 'pipe', 'inherit'], ...(uid !== undefined ? { uid, gid } : {}) });
    let out = '';
    c.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    c.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`exit ${code}`)); return; }
      const m = /\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim());
      resolve({ user: Number(m![1]) * 60 + Number(m![2]), sys: Number(m![3]) * 60 + Number(m![4]) });
    });
  });
}

interface Strategy { name: string; conns: number; batch: number; select: boolean; multi: boolean; dsync?: boolean }

async function dsyncRun(lab: LabInfo, source: string, target: string): Promise<number> {
  const l = lab.dovecot.legacy;
  const u = labUser();
  const args = ['-c', lab.dovecot.cloud.config, '-o', `imapc_host=${LAB_HOST}`, '-o', `imapc_port=${l.imapPort}`, '-o', `imapc_user=${source}`,
    '-o', `imapc_master_user=${l.masterUser}`, '-o', `imapc_password=${l.masterPassword}`, '-o', 'imapc_features=rfc822.size fetch-headers',
    '-o', 'mail_prefetch_count=20', 'backup', '-R', '-u', target, 'imapc:'];
  const st = process.env.PROBE_STRACE;
  if (!st) {
    const t = await timed(['doveadm', ...args], lab.dovecot.cloud.dir, u.root ? u.uid : undefined, u.root ? u.gid : undefined);
    console.log(`  doveadm user ${t.user.toFixed(2)} s, sys ${t.sys.toFixed(2)} s`);
    return t.user + t.sys;
  }
  // PROBE_STRACE=DIR: syscall counts of doveadm (strace -c) into DIR/doveadm.txt, of the server per strategy into DIR/N.txt.
  const r = await runSampled('strace', ['-c', '-f', '-o', join(st, 'doveadm.txt'), ...(u.root ? ['-u', u.name] : []), 'doveadm', ...args], { cwd: lab.dovecot.cloud.dir });
  return r.cpuSeconds;
}

async function run(info: DovecotInfo, address: string, msgs: CorpusMessage[], st: Strategy): Promise<void> {
  const auth = { user: `${address}*${info.masterUser}`, pass: info.masterPassword };
  const ep = { host: LAB_HOST, port: info.imapPort, tls: 'none' as const };
  const pipes: PipelinedAppender[] = [];
  for (let i = 0; i < st.conns; i++) pipes.push(await PipelinedAppender.open(ep, auth));
  const control = st.select ? await masterSession(info, address) : undefined;
  const byFolder = new Map<string, CorpusMessage[]>();
  for (const m of msgs) byFolder.set(m.folder, [...(byFolder.get(m.folder) ?? []), m]);
  try {
    for (const [folder, list] of byFolder) {
      const wire = mutf7(folder.replace(/\./g, '/'));
      if (control) await control.mailboxOpen(folder.replace(/\./g, '/'));
      let prev: Promise<unknown> | undefined;
      for (let i = 0; i < list.length; i += st.batch) {
        const b = list.slice(i, i + st.batch);
        const size = Math.ceil(b.length / st.conns);
        const cur = Promise.all(pipes.map(async (p, k) => {
          const chunk = b.slice(k * size, (k + 1) * size).map((x) => ({ body: x.body, flags: x.flags, date: imapDateTime(x.date) }));
          if (chunk.length === 0) return;
          const rs = st.multi ? await p.appendMany(wire, chunk) : await Promise.all(chunk.map((x) => p.append(wire, x.body, x.flags, x.date)));
          const bad = rs.find((r) => !r.ok);
          if (bad && !bad.ok) throw new Error(bad.reason);
        }));
        if (prev) await prev;
        prev = cur;
      }
      if (prev) await prev;
    }
  } finally {
    for (const p of pipes) p.close();
    if (control) await control.logout().catch(() => control.close());
  }
}

async function main(): Promise<void> {
  const each = Number(arg('--each') ?? 1500);
  const rounds = Number(arg('--rounds') ?? 2);
  const only = arg('--only')?.split(',');
  const all: Strategy[] = [
    { name: 'engine: 2 conns, 200/batch, SELECT', conns: 2, batch: 200, select: true, multi: true },
    { name: '2 conns, 200/batch, no SELECT', conns: 2, batch: 200, select: false, multi: true },
    { name: '2 conns, 1000/batch', conns: 2, batch: 1000, select: false, multi: true },
    { name: '2 conns, 50/batch', conns: 2, batch: 50, select: false, multi: true },
    { name: '1 conn, 200/batch', conns: 1, batch: 200, select: false, multi: true },
    { name: '2 conns, single APPENDs', conns: 2, batch: 200, select: false, multi: false },
    { name: 'dsync (doveadm CPU + cloud server CPU)', conns: 0, batch: 0, select: false, multi: false, dsync: true },
  ];
  const strategies = all.filter((s, i) => !only || only.includes(String(i)));
  const bl = benchLab('mb-probe-');
  try {
    const lab = await bl.start();
    const cloud = lab.dovecot.cloud;
    const master = lab.servers.find((s) => s.name === 'dovecot-cloud')!.pid;
    const msgs = [...corpus(each, 100)];
    const [src] = await newMailUsers(lab, 'legacy', 1, { local: 'probesrc' });
    if (strategies.some((x) => x.dsync)) {
      const s0 = await masterSession(lab.dovecot.legacy, src!.address);
      await loadMailbox(lab.dovecot.legacy, s0, src!.address, each, 100);
      await s0.logout();
    }
    const bytes = msgs.reduce((n, m) => n + m.body.length, 0);
    console.log(`probe: ${msgs.length} messages, ${(bytes / 1048576).toFixed(1)} MB, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    for (let r = 0; r < rounds; r++) {
      for (const st of r % 2 === 0 ? strategies : [...strategies].reverse()) {
        const [u] = await newMailUsers(lab, 'cloud', 1, { local: 'probe' });
        const s = await masterSession(cloud, u!.address);
        const have = new Set((await s.list()).map((x) => x.path));
        for (const f of new Set(msgs.map((m) => m.folder.replace(/\./g, '/')))) if (!have.has(f)) await s.mailboxCreate(f);
        await s.logout();
        await new Promise((res) => setTimeout(res, 300));
        const st0 = process.env.PROBE_STRACE;
        let tracer: ChildProcess | undefined;
        if (st0 && !st.dsync) {
          tracer = spawn('strace', ['-c', '-f', '-o', join(st0, `${strategies.indexOf(st)}.txt`), '-p', String(master)], { stdio: 'ignore' });
          await new Promise((res) => setTimeout(res, 1000));
        }
        const c0 = treeCpu(master);
        const t0 = performance.now();
        const extra = st.dsync ? await dsyncRun(lab, src!.address, u!.address) : (await run(cloud, u!.address, msgs, st), 0);
        await new Promise((res) => setTimeout(res, 300));
        const cpu = treeCpu(master) - c0 + extra;
        if (tracer) { tracer.kill('SIGINT'); await new Promise((res) => tracer!.once('exit', res)); }
        const wall = (performance.now() - t0) / 1000 - 0.3;
        console.log(`${st.name.padEnd(40)} wall ${wall.toFixed(2)} s, dovecot CPU ${cpu.toFixed(2)} s = ${(cpu / msgs.length * 1000).toFixed(3)} ms/msg (load ${loadavg()[0]!.toFixed(2)})`);
      }
    }
  } finally {
    await bl.cleanup();
  }
}

await main();
