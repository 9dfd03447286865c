/**
 * What the console's browser tests share: `mailbridge serve` started as the
 * real binary (a child process logging to a file) and waited for until
 * /readyz answers, and Chromium from Debian driven by playwright-core with a
 * fresh profile. Screenshots go to test-output/console/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { delay, stopPid } from './process.js';

const bin = new URL('../../bin/mailbridge.js', import.meta.url).pathname;
export const shotsDir = new URL('../../test-output/console/', import.meta.url).pathname;

export interface RunningServe {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  logFile: string;
  /** The end of serve's log, for assertion messages. */
  logTail(chars?: number): string;
}

/** Starts `mailbridge --config CONFIG serve` and waits (up to timeoutMs) until its /readyz answers 200. */
export async function startServe(config: string, webPort: number, logFile: string, timeoutMs = 30_000): Promise<RunningServe> {
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [bin, '--config', config, 'serve'], { stdio: ['ignore', out, out], env: { ...process.env, MAILBRIDGE_LOG_LEVEL: 'info' } });
  const base = `http://127.0.0.1:${webPort}`;
  const logTail = (chars = 3000): string => readFileSync(logFile, 'utf8').slice(-chars);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${logTail()}`);
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`serve not ready after ${timeoutMs} ms:\n${logTail()}`);
    await delay(100);
  }
  return { child, base, logFile, logTail };
}

/** Headless Chromium with a fresh profile (playwright takes the profile folder as an argument, not as --user-data-dir). */
export async function launchChromium(opts: { timezoneId?: string } = {}): Promise<BrowserContext> {
  mkdirSync(shotsDir, { recursive: true });
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'mb-chromium-')), {
    ...opts,
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** `mailbridge serve` and a browser pointed at it, stopped together. */
export interface ConsoleUnderTest {
  serve: RunningServe;
  context: BrowserContext;
  base: string;
  close(): Promise<void>;
}

export async function startConsole(config: string, webPort: number, logFile: string, browser: { timezoneId?: string } = {}): Promise<ConsoleUnderTest> {
  const serve = await startServe(config, webPort, logFile);
  const context = await launchChromium(browser).catch(async (err: unknown) => {
    if (serve.child.pid) await stopPid(serve.child.pid, 10_000);
    throw err;
  });
  return {
    serve, context, base: serve.base,
    close: async () => {
      await context.close();
      if (serve.child.pid) await stopPid(serve.child.pid, 10_000);
    },
  };
}
