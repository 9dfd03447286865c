/**
 * The lab's PostgreSQL: the shared store when several mailbridge nodes run.
 * initdb into DIR/postgres/data and run `postgres` in the foreground as the
 * unprivileged lab user (PostgreSQL refuses to run as root), on a free loopback
 * port, with a database `mailbridge` owned by the superuser `mailbridge`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  LAB_HOST, freePort, labDir, labUser, chownTree, spawnServer, stopPid, isAlive, delay, logTail,
} from './process.js';
import type { PostgresInfo, ServerRecord } from './types.js';

export const PG_USER = 'mailbridge';
export const PG_DATABASE = 'mailbridge';

/** The newest PostgreSQL installed by Debian (/usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).map(Number) : [];
  if (majors.length === 0) throw new Error(`postgres: no PostgreSQL found under ${root} (apt-get install postgresql)`);
  return join(root, String(Math.max(...majors)), 'bin');
}

function runAsLabUser(cmd: string, args: string[], cwd: string): Promise<string> {
  const u = labUser();
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, ...(u.root ? { uid: u.uid, gid: u.gid } : {}) }, (err, stdout, stderr) => {
      if (err) reject(new Error(`postgres: ${cmd} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * A unix socket path is limited to 107 bytes; a deep lab dir would overflow it,
 * so then the socket goes to a short private folder under the system tmpdir.
 */
function socketDirFor(root: string, port: number): string {
  const preferred = join(root, 'run');
  if (`${preferred}/.s.PGSQL.${port}`.length < 100) return labDir(preferred, 0o700);
  const short = mkdtempSync(join(tmpdir(), 'mbpg-'));
  chownTree(short);
  return short;
}

/**
 * initdb made fast: no fsync of the new cluster (--no-sync), C locale (no
 * collation setup), trust auth on loopback so tests need no password.
 */
async function initDb(bin: string, dataDir: string, cwd: string): Promise<void> {
  await runAsLabUser(join(bin, 'initdb'), [
    '-D', dataDir, '-A', 'trust', '-U', PG_USER, '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C',
  ], cwd);
}

interface Ready { host: string; port: number; pid: number; logFile: string }

/**
 * Connects until the server gives a real answer to SELECT 1. Connection refused
 * and "the database system is starting up" (SQLSTATE 57P03) mean: not yet.
 */
async function waitForPostgres(r: Ready, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && isAlive(r.pid)) {
    const client = new pg.Client({ host: r.host, port: r.port, user: PG_USER, database: 'postgres' });
    try {
      await client.connect();
      const res = await client.query<{ one: number }>('SELECT 1 AS one');
      if (res.rows[0]?.one === 1) return;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ECONNREFUSED' && e.code !== '57P03' && e.code !== 'ECONNRESET') throw withTail(r, e.message);
      last = e.message;
    } finally {
      await client.end().catch(() => undefined);
    }
    await delay(30);
  }
  const why = isAlive(r.pid) ? `timed out (${last})` : 'process exited';
  throw withTail(r, `did not answer SELECT 1: ${why}`);
}

function withTail(r: Ready, msg: string): Error {
  return new Error(`postgres on port ${r.port}: ${msg}${logTail(r.logFile)}`);
}

async function createDatabase(r: Ready): Promise<void> {
  const client = new pg.Client({ host: r.host, port: r.port, user: PG_USER, database: 'postgres' });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${PG_DATABASE} OWNER ${PG_USER}`);
  } catch (err) {
    throw withTail(r, `CREATE DATABASE ${PG_DATABASE} failed: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts PostgreSQL and resolves once database `mailbridge` exists. */
export async function startPostgres(dir: string): Promise<{ info: PostgresInfo; server: ServerRecord }> {
  const bin = postgresBinDir();
  const root = labDir(join(dir, 'postgres'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'postgres.log');
  writeFileSync(logFile, '');
  chownTree(logFile);
  await initDb(bin, dataDir, root);
  const port = await freePort();
  const socketDir = socketDirFor(root, port);
  const proc = spawnServer({
    name: 'postgres',
    command: join(bin, 'postgres'),
    args: [
      '-D', dataDir, '-k', socketDir, '-p', String(port),
      '-c', `listen_addresses=${LAB_HOST}`,
      // A test lab's data is thrown away: durability only costs time here.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    ],
    logFile,
    cwd: root,
  });
  const server: ServerRecord = { name: 'postgres', pid: proc.pid, logFile };
  const ready: Ready = { host: LAB_HOST, port, pid: proc.pid, logFile };
  try {
    await waitForPostgres(ready);
    await createDatabase(ready);
  } catch (err) {
    await stopPostgres(server);
    throw err;
  }
  const url = `postgres://${PG_USER}@${LAB_HOST}:${port}/${PG_DATABASE}`;
  return { info: { port, socketDir, url, dataDir }, server };
}

/**
 * SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to
 * disconnect (a test's idle pool would hold it for ever); SIGINT is the "fast"
 * shutdown: roll back, disconnect clients, checkpoint, exit.
 */
export async function stopPostgres(server: ServerRecord): Promise<void> {
  if (!isAlive(server.pid)) return;
  try { process.kill(server.pid, 'SIGINT'); } catch { return; }
  await stopPid(server.pid, 10_000);
}
