/**
 * What a new file costs on the file system the lab's target Dovecot writes to, measured before the timed runs.
 *
 * Why: on an ext4 without a journal (this machine's root file system) the kernel hands out a new inode only after
 * skipping, one by one, the inodes of its block group freed in the last 5 to 300 seconds (recently_deleted() in
 * fs/ext4/ialloc.c). Right after an earlier bench or test run removed its lab (tens of thousands of files), every
 * message file the target writes costs up to milliseconds of kernel CPU: in the target Dovecot for mailbridge and in
 * doveadm for dsync. perf in one such run: 35% of the machine's CPU in ext4_create (bench/RESULTS.md, session 6).
 * A figure far above the quiet one means the run measures that, not the tools; `--settle` waits it out.
 *
 * The probe writes into the target's mail domain folder, beside the users' folders (ext4 puts a new folder in its
 * parent's block group when it can), and keeps its files until the lab is removed: deleting them would add to what
 * it measures.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** Kernel + user CPU microseconds per new empty file: `count` files in a new folder under `dir`. */
export function fileCreateCost(dir: string, count = 1000): number {
  const sub = join(dir, `.fs-probe-${process.hrtime.bigint()}`);
  mkdirSync(sub, { recursive: true });
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) closeSync(openSync(join(sub, `f${i}`), 'w'));
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / count;
}

/** A new file at most this dear counts as quiet (measured here: 20-35 us quiet, 200-550 us within minutes of a lab's removal). */
export const QUIET_US = 60;

/**
 * Probes once; with `settle`, probes every 20 s until a new file is quiet again or `maxSeconds` passed. Answers the
 * last figure and how long it waited.
 */
export async function settleFileCreation(dir: string, settle: boolean, maxSeconds = 330, say: (s: string) => void = () => {}): Promise<{ us: number; waited: number }> {
  const t0 = Date.now();
  let us = fileCreateCost(dir);
  while (settle && us > QUIET_US && (Date.now() - t0) / 1000 < maxSeconds) {
    say(`  file creation ${us.toFixed(0)} us per file (quiet: <= ${QUIET_US}): waiting for earlier deletions to age out`);
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    us = fileCreateCost(dir);
  }
  return { us, waited: (Date.now() - t0) / 1000 };
}
