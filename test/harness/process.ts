/**
 * Process plumbing for the lab: free loopback ports, an unprivileged user to run
 * servers as, spawning with a recorded PID, readiness by protocol greeting (never
 * a fixed sleep) and stopping exactly the PIDs we started.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { chownSync, mkdirSync, openSync, readdirSync, statSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const LAB_HOST = '127.0.0.1';

/** Ports this process handed out already: the kernel may offer a released port again. */
const handedOut = new Set<number>();

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, LAB_HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A free loopback port, never one this process handed out before. Servers of a
 * lab start in parallel and bind their ports only later, so without this two of
 * them can get the same released port (seen: legacy's LMTP and cloud's IMAP).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await kernelPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface LabUser { name: string; uid: number; gid: number; root: boolean }

let cachedUser: LabUser | undefined;

/**
 * The user the lab's servers run as. As root we create (once) the system user
 * `mblab` so that no server of the lab runs with root privileges (Postfix's master
 * is the one exception: it must start as root and drops to mail_owner itself).
 */
export function labUser(): LabUser {
  if (cachedUser) return cachedUser;
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    const name = execFileSync('id', ['-un']).toString().trim();
    cachedUser = { name, uid, gid: process.getgid?.() ?? uid, root: false };
    return cachedUser;
  }
  try {
    execFileSync('id', ['-u', 'mblab'], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'mblab'], { stdio: 'ignore' });
  }
  const u = Number(execFileSync('id', ['-u', 'mblab']).toString().trim());
  const g = Number(execFileSync('id', ['-g', 'mblab']).toString().trim());
  cachedUser = { name: 'mblab', uid: u, gid: g, root: true };
  return cachedUser;
}

/** mkdir -p, then hand the folder (recursively) to the lab user when we are root. */
export function labDir(path: string, mode = 0o755): string {
  mkdirSync(path, { recursive: true, mode });
  chownTree(path);
  return path;
}

/**
 * chown -R to the lab user when we are root. A running server may create and
 * remove files (index .tmp files) under the tree while we walk it, so an entry
 * that vanished between readdir and chown is skipped, not an error.
 */
export function chownTree(path: string): void {
  const u = labUser();
  if (!u.root) return;
  try {
    chownSync(path, u.uid, u.gid);
    if (!statSync(path).isDirectory()) return;
    for (const name of readdirSync(path)) chownTree(join(path, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export interface SpawnedServer {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as the unprivileged lab user (default true). */
  dropPrivileges?: boolean;
}

/** Starts a server in the foreground of a child process; its output goes to logFile. */
export function spawnServer(opts: SpawnOptions): SpawnedServer {
  const fd = openSync(opts.logFile, 'a');
  const u = labUser();
  const drop = opts.dropPrivileges !== false && u.root;
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', fd, fd],
    detached: true,
    ...(drop ? { uid: u.uid, gid: u.gid } : {}),
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
  return { name: opts.name, pid: child.pid, child, logFile: opts.logFile };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the PID is gone. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(25);
  if (isAlive(pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    while (isAlive(pid)) await delay(25);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface GreetingOptions {
  host?: string;
  port: number;
  /** The greeting must match this (e.g. /^220 /m for SMTP, /^\* OK/ for IMAP). */
  expect: RegExp;
  /** Bytes to send right after connecting (e.g. an HTTP request); none by default. */
  send?: string;
  timeoutMs?: number;
  /** Fails fast when the server process has died. */
  pid?: number;
  name: string;
  logFile?: string;
}

/**
 * Waits until the server answers with its protocol greeting. Connection refused
 * is retried (the server is still starting); a dead PID or the deadline is an error
 * that quotes the server's log tail.
 */
export async function waitForGreeting(opts: GreetingOptions): Promise<string> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let lastErr = 'no answer';
  while (Date.now() < deadline) {
    if (opts.pid !== undefined && !isAlive(opts.pid)) break;
    try {
      return await readGreeting(opts);
    } catch (err) {
      lastErr = (err as Error).message;
      await delay(30);
    }
  }
  const why = opts.pid !== undefined && !isAlive(opts.pid) ? 'process exited' : `timed out (${lastErr})`;
  throw new Error(`${opts.name} on port ${opts.port} did not greet: ${why}${logTail(opts.logFile)}`);
}

function readGreeting(opts: GreetingOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: opts.host ?? LAB_HOST, port: opts.port });
    let buf = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('greeting timeout')); }, 2000);
    sock.on('connect', () => { if (opts.send) sock.write(opts.send); });
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (opts.expect.test(buf)) { clearTimeout(timer); sock.destroy(); resolve(buf); }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => { clearTimeout(timer); reject(new Error(`closed after ${JSON.stringify(buf.slice(0, 80))}`)); });
  });
}

export function logTail(logFile?: string, lines = 15): string {
  if (!logFile) return '';
  try {
    const text = execFileSync('tail', ['-n', String(lines), logFile]).toString();
    return text ? `\n--- ${logFile} ---\n${text}` : '';
  } catch {
    return '';
  }
}
