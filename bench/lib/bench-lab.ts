/**
 * A lab of real Dovecots for a benchmark run: a fresh folder, started on
 * demand, stopped and removed at the end or on Ctrl-C/SIGTERM.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDir, startLab, stopLab, type LabInfo } from '../../test/harness/index.js';

export interface BenchLab {
  dir: string;
  /** Starts the lab's Dovecots in `dir`. */
  start(): Promise<LabInfo>;
  /** Stops what was started and removes the folder (idempotent). */
  cleanup(): Promise<void>;
}

export function benchLab(prefix: string): BenchLab {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  labDir(dir);
  let started = false;
  const cleanup = async (): Promise<void> => {
    if (started) { started = false; await stopLab(dir); }
    rmSync(dir, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void cleanup().finally(() => process.exit(130)); });
  return {
    dir,
    start: () => { started = true; return startLab(dir, { only: ['dovecot'] }); },
    cleanup,
  };
}
