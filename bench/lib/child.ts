/**
 * Runs a benchmark script again as a child process (`--child ARG`), so the
 * measured work has a process (and a peak RSS) of its own; the child prints its
 * result as JSON on its last stdout line. With profileDir, the child writes a
 * CPU profile there.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `env`: variables set (over this process's) for the child only, e.g. a variant's settings. */
export function runBenchChild<T>(scriptUrl: string, arg: string, profileDir?: string, env?: Record<string, string>): Promise<T> {
  return new Promise((resolve, reject) => {
    const args = [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), ...((env?.MB_BENCH_NODE_FLAGS ?? process.env.MB_BENCH_NODE_FLAGS)?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', fileURLToPath(scriptUrl), '--child', arg];
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...(env ? { env: { ...process.env, ...env } } : {}) });
    let out = '';
    c.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    c.on('error', reject);
    c.on('close', (code) => {
      if (code !== 0) { reject(new Error(`mailbridge child exited ${code}: ${out.slice(-2000)}`)); return; }
      if (process.env.MB_BENCH_CHILD_OUT) writeFileSync(process.env.MB_BENCH_CHILD_OUT, out);
      resolve(JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as T);
    });
  });
}
