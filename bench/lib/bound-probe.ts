/**
 * A probe, not a benchmark: the bound case (b) of bench/migrate sets for any
 * IMAP-to-IMAP copier on this machine. It times, in the same run and on the same
 * lab, the 8 x 1,500-message corpus of bench/migrate
 *
 *   - "APPEND only": a client with nothing else to do. Every message is already
 *     in memory; per user one pipelined connection sends MULTIAPPENDs of 500
 *     (what the engine sends). No source reads, no state, no hashing: only the
 *     target Dovecot's work for the same messages;
 *   - `doveadm backup` of the same 8 mailboxes from the legacy Dovecot, 8 at once
 *     (the command, as bench/migrate runs it).
 *
 * If "APPEND only" alone is not clearly faster than dsync, no client that must
 * also read the source can reach dsync's throughput here: the target server's
 * APPEND work is the same storage work doveadm does inside its own process.
 *
 *   npx tsx bench/lib/bound-probe.ts [--each 1500] [--mailboxes 8] [--rounds 3]
 */
import { loadavg } from 'node:os';
import { benchLab } from './bench-lab.js';
import { corpus, loadMailbox, mutf7, type CorpusMessage } from './mail-corpus.js';
import { runSampled, treeCpu } from './proc-peak.js';
import { PipelinedAppender } from '../../src/migration/appender.js';
import { imapDateTime } from '../../src/migration/imap-parse.js';
import { RawImap } from '../../src/migration/raw-imap.js';
import { LAB_HOST, labUser, newMailUsers, type DovecotInfo, type LabInfo } from '../../test/harness/index.js';
import { masterSession } from '../../test/harness/mail.js';

const arg = (n: string): string | undefined => { const i = process.argv.indexOf(n); return i >= 0 ? process.argv[i + 1] : undefined; };

function dsync(lab: LabInfo, source: string, target: string): Promise<unknown> {
  const l = lab.dovecot.legacy;
  const u = labUser();
  return runSampled('doveadm', ['-c', lab.dovecot.cloud.config, '-o', `imapc_host=${LAB_HOST}`, '-o', `imapc_port=${l.imapPort}`, '-o', `imapc_user=${source}`,
    '-o', `imapc_master_user=${l.masterUser}`, '-o', `imapc_password=${l.masterPassword}`, '-o', 'imapc_features=rfc822.size fetch-headers',
    '-o', 'mail_prefetch_count=20', 'backup', '-R', '-u', target, 'imapc:'], { cwd: lab.dovecot.cloud.dir, ...(u.root ? { uid: u.uid, gid: u.gid } : {}) });
}

/** The target folders, made before the clock starts (the engine makes them too, in its timed run: this favours the bound). */
async function prepare(info: DovecotInfo, address: string, msgs: readonly CorpusMessage[]): Promise<void> {
  const s = await masterSession(info, address);
  try {
    const have = new Set((await s.list()).map((x) => x.path));
    for (const f of new Set(msgs.map((m) => m.folder.replace(/\./g, '/')))) if (!have.has(f)) await s.mailboxCreate(f);
  } finally {
    await s.logout().catch(() => s.close());
  }
}

/** `conns` connections for the user, each taking whole folders (largest first, to the least loaded): folders in parallel. */
async function appendOnly(info: DovecotInfo, address: string, msgs: readonly CorpusMessage[], conns = 1): Promise<void> {
  const byFolder = new Map<string, CorpusMessage[]>();
  for (const m of msgs) byFolder.set(m.folder, [...(byFolder.get(m.folder) ?? []), m]);
  const shares: [string, CorpusMessage[]][][] = Array.from({ length: conns }, () => []);
  const load = new Array<number>(conns).fill(0);
  for (const e of [...byFolder].sort((a, b) => b[1].length - a[1].length)) {
    const i = load.indexOf(Math.min(...load));
    shares[i]!.push(e);
    load[i]! += e[1].length;
  }
  await Promise.all(shares.map((s) => appendFolders(info, address, s)));
}

async function appendFolders(info: DovecotInfo, address: string, byFolder: readonly [string, CorpusMessage[]][]): Promise<void> {
  const p = await PipelinedAppender.open({ host: LAB_HOST, port: info.imapPort, tls: 'none' }, { user: `${address}*${info.masterUser}`, pass: info.masterPassword });
  try {
    for (const [folder, list] of byFolder) {
      const wire = mutf7(folder.replace(/\./g, '/'));
      for (let i = 0; i < list.length; i += 500) {
        const rs = await p.appendMany(wire, list.slice(i, i + 500).map((x) => ({ body: x.body, flags: x.flags, date: imapDateTime(x.date) })));
        const bad = rs.find((r) => !r.ok);
        if (bad && !bad.ok) throw new Error(bad.reason);
      }
    }
  } finally {
    p.close();
  }
}

/**
 * "lean proxy": the source read as the engine reads it (RawImap: EXAMINE, UID SEARCH, metadata, BODY.PEEK[] in
 * batches of 500, two batches ahead) and each batch appended as above, with no state, no hashing, no folder
 * logic: what reading the source adds to "APPEND only". The folders are the corpus's (legacy "." -> cloud "/").
 */
async function leanProxy(lab: LabInfo, source: string, target: string, folders: readonly string[]): Promise<void> {
  const l = lab.dovecot.legacy;
  const c = lab.dovecot.cloud;
  const reader = await RawImap.open({ host: LAB_HOST, port: l.imapPort, tls: 'none' }, { user: `${source}*${l.masterUser}`, pass: l.masterPassword }, 'legacy');
  const p = await PipelinedAppender.open({ host: LAB_HOST, port: c.imapPort, tls: 'none' }, { user: `${target}*${c.masterUser}`, pass: c.masterPassword });
  try {
    for (const folder of folders) {
      const ex = await reader.examine(mutf7(folder));
      if (ex.exists === 0) continue;
      const metas = await reader.fetchMeta((await reader.searchUids('ALL')).join(','));
      const wire = mutf7(folder.replace(/\./g, '/'));
      const batches: typeof metas[] = [];
      for (let i = 0; i < metas.length; i += 500) batches.push(metas.slice(i, i + 500));
      const fetching = batches.map(() => undefined as Promise<Map<number, Buffer>> | undefined);
      const start = (j: number) => { if (j < batches.length) { fetching[j] = reader.fetchBodies(batches[j]!.map((m) => m.uid)); fetching[j]!.catch(() => undefined); } };
      start(0);
      start(1);
      let prev: Promise<unknown> | undefined;
      for (let j = 0; j < batches.length; j++) {
        const bodies = await fetching[j]!;
        start(j + 2);
        const cur = p.appendMany(wire, batches[j]!.map((m) => ({ body: bodies.get(m.uid)!, flags: m.flags.filter((f) => f !== '\\Recent'), ...(m.internalDate ? { date: m.internalDate } : {}) })));
        if (prev) await prev;
        prev = cur;
      }
      if (prev) await prev;
    }
  } finally {
    p.close();
    reader.close();
  }
}

async function main(): Promise<void> {
  const each = Number(arg('--each') ?? 1500);
  const n = Number(arg('--mailboxes') ?? 8);
  const rounds = Number(arg('--rounds') ?? 3);
  const split = Number(arg('--split') ?? 1);
  const bl = benchLab('mb-bound-');
  try {
    const lab = await bl.start();
    const cloudPid = lab.servers.find((s) => s.name === 'dovecot-cloud')!.pid;
    const sources = await newMailUsers(lab, 'legacy', n, { local: 'boundsrc' });
    const bodies = sources.map((_, i) => [...corpus(each, 100 + i)]);
    for (let i = 0; i < n; i++) {
      const s = await masterSession(lab.dovecot.legacy, sources[i]!.address);
      try { await loadMailbox(lab.dovecot.legacy, s, sources[i]!.address, each, 100 + i); } finally { await s.logout().catch(() => s.close()); }
    }
    const msgs = bodies.reduce((k, b) => k + b.length, 0);
    console.log(`bound-probe: ${n} x ${each} messages (${(bodies.flat().reduce((k, m) => k + m.body.length, 0) / 1048576).toFixed(1)} MB), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const ratios: number[] = [];
    const pratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const aTargets = await newMailUsers(lab, 'cloud', n, { local: 'bounda' });
      const dTargets = await newMailUsers(lab, 'cloud', n, { local: 'boundd' });
      await Promise.all(aTargets.map((t, i) => prepare(lab.dovecot.cloud, t.address, bodies[i]!)));
      const timeA = async (conns = 1, targets = aTargets) => {
        const c0 = treeCpu(cloudPid);
        const t0 = performance.now();
        await Promise.all(targets.map((t, i) => appendOnly(lab.dovecot.cloud, t.address, bodies[i]!, conns)));
        return { s: (performance.now() - t0) / 1000, cpu: treeCpu(cloudPid) - c0 };
      };
      if (split > 1) {
        const sTargets = await newMailUsers(lab, 'cloud', n, { local: 'bounds' });
        await Promise.all(sTargets.map((t, i) => prepare(lab.dovecot.cloud, t.address, bodies[i]!)));
        const one = await timeA();
        const many = await timeA(split, sTargets);
        console.log(`round ${r + 1}: APPEND only, 1 connection per user ${one.s.toFixed(2)} s (target CPU ${one.cpu.toFixed(2)} s); `
          + `${split} per user, folders in parallel ${many.s.toFixed(2)} s (target CPU ${many.cpu.toFixed(2)} s)`);
        const folders = [...new Set(bodies[0]!.map((m) => m.folder))];
        const p1 = await newMailUsers(lab, 'cloud', n, { local: 'boundq' });
        const p2 = await newMailUsers(lab, 'cloud', n, { local: 'boundr' });
        await Promise.all([...p1, ...p2].map((t, i) => prepare(lab.dovecot.cloud, t.address, bodies[i % n]!)));
        const lean = async (targets: typeof p1, k: number) => {
          const cpu0 = process.cpuUsage();
          const c0 = treeCpu(cloudPid);
          const t0 = performance.now();
          await Promise.all(targets.map((t, i) => Promise.all(Array.from({ length: k }, (_, j) => leanProxy(lab, sources[i]!.address, t.address, folders.filter((_f, x) => x % k === j))))));
          const cpu = process.cpuUsage(cpu0);
          return `${((performance.now() - t0) / 1000).toFixed(2)} s (node ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, target ${(treeCpu(cloudPid) - c0).toFixed(2)} s)`;
        };
        console.log(`  lean proxy 1 pair per user ${await lean(p1, 1)}; ${split} pairs per user ${await lean(p2, split)}`);
        continue;
      }
      const timeD = async () => {
        const t0 = performance.now();
        await Promise.all(sources.map((s, i) => dsync(lab, s.address, dTargets[i]!.address)));
        return (performance.now() - t0) / 1000;
      };
      const pTargets = await newMailUsers(lab, 'cloud', n, { local: 'boundp' });
      await Promise.all(pTargets.map((t, i) => prepare(lab.dovecot.cloud, t.address, bodies[i]!)));
      const folders = [...new Set(bodies[0]!.map((m) => m.folder))];
      const timeP = async () => {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await Promise.all(pTargets.map((t, i) => leanProxy(lab, sources[i]!.address, t.address, folders)));
        const cpu = process.cpuUsage(cpu0);
        return { s: (performance.now() - t0) / 1000, node: (cpu.user + cpu.system) / 1e6 };
      };
      const a = r % 2 === 0 ? await timeA() : undefined;
      const px = r % 2 === 0 ? await timeP() : undefined;
      const d = await timeD();
      const p2 = px ?? await timeP();
      const a2 = a ?? await timeA();
      ratios.push(d / a2.s);
      pratios.push(d / p2.s);
      console.log(`round ${r + 1}: APPEND only ${a2.s.toFixed(2)} s (${(msgs / a2.s).toFixed(0)} msg/s; target Dovecot CPU ${a2.cpu.toFixed(2)} s), `
        + `lean proxy ${p2.s.toFixed(2)} s (node CPU ${p2.node.toFixed(2)} s), dsync ${d.toFixed(2)} s (${(msgs / d).toFixed(0)} msg/s): `
        + `throughput / dsync: APPEND only ${(d / a2.s).toFixed(2)}, lean proxy ${(d / p2.s).toFixed(2)} (load ${loadavg()[0]!.toFixed(2)})`);
    }
    const mean = (xs: number[]) => (xs.reduce((x, y) => x + y, 0) / xs.length).toFixed(2);
    console.log(`APPEND only / dsync per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; mean ${mean(ratios)}`);
    console.log(`lean proxy / dsync per round: ${pratios.map((x) => x.toFixed(2)).join(', ')}; mean ${mean(pratios)}`);
  } finally {
    await bl.cleanup();
  }
}

await main();
