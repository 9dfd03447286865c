/**
 * Bulk-loads entries into the lab's slapd offline: stop it, `slapadd -q` the
 * LDIF into its mdb (as the lab user, who owns the database), start it again
 * with the arguments startSlapd used. Minutes faster than ldapadd for 100,000
 * entries, where every add is a committed, fsync'd write transaction. Setup
 * for benchmarks, not a figure.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  chownTree, delay, isAlive, labUser, ldapClient, logTail, spawnServer, stopPid, type LdapInfo, type ServerRecord,
} from '../../test/harness/index.js';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';

/** `dir` is the folder given to startSlapd; returns the restarted server's record. */
export async function preloadSlapd(dir: string, info: LdapInfo, server: ServerRecord, ldif: string): Promise<ServerRecord> {
  const home = join(dir, 'ldap');
  const conf = join(home, 'slapd.conf');
  const file = join(home, 'preload.ldif');
  writeFileSync(file, ldif);
  chownTree(file);
  await stopPid(server.pid);
  const u = labUser();
  try {
    // -q: no consistency checks or per-entry sync; fine for a database we just made.
    execFileSync(SLAPADD, ['-q', '-f', conf, '-l', file], { stdio: ['ignore', 'pipe', 'pipe'], ...(u.root ? { uid: u.uid, gid: u.gid } : {}) });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`slapadd of the preload failed: ${e.stderr?.toString() ?? e.message}`, { cause: err });
  }
  return restartSlapd(dir, info, server.logFile);
}

/**
 * Starts slapd again on the database startSlapd made in `dir` (after a
 * preload, or a kept bench folder reused by a later run), listening on
 * info.url; resolves once it answers a bind.
 */
export async function restartSlapd(dir: string, info: LdapInfo, logFile: string): Promise<ServerRecord> {
  const conf = join(dir, 'ldap', 'slapd.conf');
  const server = { logFile };
  const child = spawnServer({ name: 'slapd', command: SLAPD, logFile, args: ['-d', 'stats', '-h', `${info.url}/`, '-f', conf] });
  const again: ServerRecord = { name: 'slapd', pid: child.pid, logFile };
  const deadline = Date.now() + 60_000;
  while (isAlive(again.pid)) {
    try {
      const c = await ldapClient(info, 1000);
      await c.unbind();
      return again;
    } catch (err) {
      if (Date.now() > deadline) {
        await stopPid(again.pid);
        throw new Error(`slapd did not come back: ${(err as Error).message}${logTail(server.logFile)}`, { cause: err });
      }
      await delay(50);
    }
  }
  throw new Error(`slapd exited after the preload${logTail(server.logFile)}`);
}
