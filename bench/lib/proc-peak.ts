/**
 * Runs a command and samples its peak RSS (VmHWM) and CPU time (utime+stime)
 * from /proc while it runs, for peers that report neither themselves (there is
 * no /usr/bin/time on our machines). Sampled every 100 ms: VmHWM is a high-water
 * mark, so any sample near the end sees the peak; the CPU misses up to the last
 * 100 ms of the process, and `childrenCpu()` around the runs gives it exactly.
 * Every 20 ms, as before, cost the driver ~0.45 s of CPU while 8 doveadm ran
 * (perf, bench/RESULTS.md session 9): CPU the measured peer had to share.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcRun { seconds: number; peakRssMb: number; cpuSeconds: number }

const TICKS = 100; // USER_HZ on Linux
const SAMPLE_MS = 100;

/**
 * CPU seconds (user + sys) of this process's children that have exited and been reaped (cutime + cstime of
 * /proc/self/stat): taken before and after runs of children, exactly what they used, whoever ran at the same time.
 */
export function childrenCpu(): number {
  return procStat('self')!.reaped;
}

/** /proc/PID/stat: the parent, the process's own CPU seconds (utime + stime) and its reaped children's (cutime + cstime). */
function procStat(pid: number | 'self'): { ppid: number; self: number; reaped: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), self: (Number(f[11]) + Number(f[12])) / TICKS, reaped: (Number(f[13]) + Number(f[14])) / TICKS };
  } catch {
    return undefined;
  }
}

function sample(pid: number): { hwmKb: number; cpu: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const st = procStat(pid);
    return st && { hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0), cpu: st.self };
  } catch {
    return undefined;
  }
}

export function runSampled(cmd: string, args: string[], opts: { cwd?: string; uid?: number; gid?: number } = {}): Promise<ProcRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let err = '';
    let hwmKb = 0;
    let cpu = 0;
    const tick = () => {
      const s = c.pid !== undefined ? sample(c.pid) : undefined;
      if (s) { hwmKb = Math.max(hwmKb, s.hwmKb); cpu = Math.max(cpu, s.cpu); }
    };
    const timer = setInterval(tick, SAMPLE_MS);
    c.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-4000); });
    c.on('error', (e) => { clearInterval(timer); reject(e); });
    c.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err.trim()}`));
      else resolve({ seconds, peakRssMb: hwmKb / 1024, cpuSeconds: cpu });
    });
  });
}

/**
 * CPU seconds (user + sys) a server has used so far: the process, its live
 * children and the children it has reaped (cutime/cstime). Dovecot's services
 * are all children of its master, so this is the whole server, imap processes
 * that already exited included. Taken before and after a run, the difference
 * is what the server spent on it.
 */
export function treeCpu(master: number): number {
  const m = procStat(master);
  if (!m) return 0;
  let total = m.self + m.reaped;
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) > 57) continue;
    const s = procStat(Number(e));
    if (s && s.ppid === master) total += s.self + s.reaped;
  }
  return total;
}
