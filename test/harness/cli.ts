/**
 * The mailbridge CLI as a child process (`node --import tsx src/cli/main.ts
 * ...`, run in the repository root), for integration tests of its commands:
 * the exit code (or the signal that ended it) and everything it wrote.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '../..');
const MAIN = join(REPO, 'src/cli/main.ts');

export interface CliRun {
  /** The exit code; null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Set on top of this process's environment. */
  env?: Record<string, string>;
  /**
   * Checked against all of stderr so far, on each chunk. Its first true sends
   * SIGKILL, or with pollKill arms a check every 2 ms that sends SIGKILL while
   * pollKill is true (to kill at a moment the output alone cannot tell).
   */
  killWhen?: (stderr: string) => boolean;
  pollKill?: () => boolean;
}

/**
 * Runs `mailbridge <args>` and resolves once it has exited and its output is
 * read to the end ('close', not 'exit': output can still be in the pipe at
 * 'exit'). Never rejects for a failing command: the exit code is the result.
 */
export function cli(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    let armed = false;
    let timer: NodeJS.Timeout | undefined;
    // Decoded by the streams, so a UTF-8 character split across two chunks stays whole.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { stdout += d; });
    child.stderr.on('data', (d: string) => {
      stderr += d;
      if (!armed && opts.killWhen?.(stderr)) {
        armed = true;
        const poll = opts.pollKill;
        if (!poll) child.kill('SIGKILL');
        else timer = setInterval(() => { if (poll()) child.kill('SIGKILL'); }, 2);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
