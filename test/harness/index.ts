/**
 * The test helper API of the lab. Integration tests call `useLab()` for the
 * servers and `newMailUser()` for mailboxes of their own, so suites run in
 * parallel processes without sharing state.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { waitForMailUser } from './dovecot.js';
import { attachLab, labJsonPath, labStatus, startLab, stopLab, type StartLabOptions } from './lab.js';
import type { LabInfo, LabMailUser } from './types.js';

export * from './process.js';
export * from './types.js';
export * from './dovecot.js';
export * from './postgres.js';
export * from './lab.js';
export * from './slapd.js';
export * from './radicale.js';
export * from './postfix.js';
export * from './tls.js';
export * from './cli.js';

/** Anything with node:test's `after(fn)`: a TestContext or a SuiteContext. */
export interface AfterHost { after(fn: () => Promise<void> | void): unknown }

let privateLab: { dir: string; lab: Promise<LabInfo> } | undefined;

/** The shared lab of scripts/test.mjs, when MAILBRIDGE_LAB names one that runs. */
async function sharedLab(): Promise<LabInfo | undefined> {
  const dir = process.env.MAILBRIDGE_LAB;
  if (!dir) return undefined;
  try {
    const lab = attachLab(dir);
    const status = await labStatus(dir);
    if (status.every((s) => s.alive)) return lab;
    console.error(`useLab: lab in ${dir} has servers down; starting a private lab`);
  } catch (err) {
    console.error(`useLab: MAILBRIDGE_LAB=${dir}: ${(err as Error).message}; starting a private lab`);
  }
  return undefined;
}

/**
 * Last resort when the test process exits or is killed without running its
 * `after` hooks: signal the recorded PIDs synchronously (exit handlers cannot
 * await). SIGINT for PostgreSQL is its fast shutdown; SIGTERM stops the others.
 */
function killLabSync(dir: string): void {
  try {
    const file = JSON.parse(readFileSync(labJsonPath(dir), 'utf8')) as LabInfo & { state?: string };
    if (file.state === 'stopped') return;
    for (const s of file.servers) {
      try { process.kill(s.pid, s.name === 'postgres' ? 'SIGINT' : 'SIGTERM'); } catch { /* gone */ }
    }
  } catch { /* no lab.json: nothing was started */ }
}

function guardExit(dir: string): void {
  process.once('exit', () => killLabSync(dir));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { killLabSync(dir); process.exit(sig === 'SIGINT' ? 130 : 143); });
  }
}

async function stopPrivateLab(dir: string): Promise<void> {
  if (privateLab?.dir === dir) privateLab = undefined;
  await stopLab(dir);
  // The lab's logs and mailboxes live only as long as the test run that made them.
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The lab for an integration test. Attaches to the shared lab named by
 * MAILBRIDGE_LAB; otherwise starts one private lab per process in a temp dir and
 * stops it in an `after` hook of `t` (or of the file, when `t` is omitted) and,
 * as a fallback, when the process exits.
 */
export async function useLab(t?: AfterHost, opts: StartLabOptions = {}): Promise<LabInfo> {
  const shared = await sharedLab();
  if (shared) return shared;
  if (!privateLab) {
    const dir = mkdtempSync(join(tmpdir(), 'mailbridge-lab-'));
    guardExit(dir);
    privateLab = { dir, lab: startLab(dir, opts) };
    const stop = () => stopPrivateLab(dir);
    if (t) t.after(stop);
    else after(stop);
  }
  return privateLab.lab;
}

/** Local parts stay within what every system of the lab accepts. */
function cleanLocal(local: string): string {
  return local.toLowerCase().replace(/[^a-z0-9._-]/g, '-').slice(0, 40);
}

/**
 * A mail user of its own for one test: a unique address at the lab's domain and
 * a random password, appended to that system's passwd-file. Resolves once
 * Dovecot's auth process sees the user, so the next LOGIN or RCPT TO succeeds.
 */
export async function newMailUser(
  lab: LabInfo, system: 'legacy' | 'cloud', opts: { local?: string } = {},
): Promise<LabMailUser> {
  const [user] = await newMailUsers(lab, system, 1, opts);
  if (!user) throw new Error('newMailUser: no user made');
  return user;
}

/**
 * `count` users in one go. All lines go out in one O_APPEND write, so test
 * processes adding users at the same moment never interleave; and the wait for
 * Dovecot (which re-reads the passwd-file at most once a second, see
 * waitForMailUser) is paid once for the whole batch.
 */
export async function newMailUsers(
  lab: LabInfo, system: 'legacy' | 'cloud', count: number, opts: { local?: string } = {},
): Promise<LabMailUser[]> {
  const suffix = opts.local ? `-${cleanLocal(opts.local)}` : '';
  const users = Array.from({ length: count }, (): LabMailUser => ({
    address: `t${randomBytes(5).toString('hex')}${suffix}@${lab.domain}`,
    password: randomBytes(12).toString('base64url'),
    system,
  }));
  const lines = users.map((u) => `${u.address}:{PLAIN}${u.password}::::::\n`).join('');
  appendFileSync(lab.dovecot[system].passwdFile, lines);
  const last = users[users.length - 1];
  if (last) await waitForMailUser(lab.dovecot[system], last.address);
  return users;
}
