/**
 * The lab: every real server of both mail systems, started as processes in one
 * directory. DIR/lab.json records what runs (LabInfo plus the ports of each
 * server and the identity of each PID) so that `lab down`, another process or
 * a later test run stops exactly what this one started, and nothing else.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LAB_HOST, isAlive, labDir, stopPid } from './process.js';
import { startDovecot } from './dovecot.js';
import { startPostgres, stopPostgres } from './postgres.js';
import {
  LAB_DOMAIN, type LabComponent, type LabInfo, type ServerRecord,
} from './types.js';

export const ALL_COMPONENTS: readonly LabComponent[] = ['dovecot', 'ldap', 'radicale', 'postfix', 'postgres'];

export interface StartLabOptions { only?: LabComponent[] }

type LabState = 'starting' | 'running' | 'stopped';

/** lab.json: LabInfo, plus what stopLab and labStatus need. */
interface LabFile extends Partial<LabInfo> {
  dir: string;
  state: LabState;
  servers: ServerRecord[];
  /** server name -> the loopback ports it listens on. */
  ports: Record<string, number[]>;
  /** server name -> start time from /proc, so a reused PID is never signalled. */
  identity: Record<string, string>;
  postfixServer?: string;
  stoppedAt?: string;
}

interface Started<T> { info: T; server: ServerRecord }

export function labJsonPath(dir: string): string {
  return join(dir, 'lab.json');
}

function readLabFile(dir: string): LabFile | undefined {
  try {
    return JSON.parse(readFileSync(labJsonPath(dir), 'utf8')) as LabFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`lab: cannot read ${labJsonPath(dir)}: ${(err as Error).message}`, { cause: err });
  }
}

/** Write-then-rename, so a reader in another process never sees half a file. */
function writeLabFile(file: LabFile): void {
  const tmp = `${labJsonPath(file.dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, labJsonPath(file.dir));
}

/** Field 22 of /proc/PID/stat: the start time, which differs for a reused PID. */
function pidIdentity(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function sameProcess(file: LabFile, s: ServerRecord): boolean {
  if (!isAlive(s.pid)) return false;
  const recorded = file.identity[s.name];
  return !recorded || recorded === pidIdentity(s.pid);
}

/** Dovecot is always part of a lab: LabInfo.dovecot is not optional and Postfix delivers into it. */
function componentsOf(opts: StartLabOptions): Set<LabComponent> {
  const only = opts.only ?? ALL_COMPONENTS;
  for (const c of only) {
    if (!ALL_COMPONENTS.includes(c)) throw new Error(`lab: unknown component "${c}" (known: ${ALL_COMPONENTS.join(', ')})`);
  }
  return new Set<LabComponent>(['dovecot', ...only]);
}

function portsOf(component: string, info: unknown): number[] {
  const i = info as Record<string, unknown>;
  const keys = component === 'dovecot' ? ['imapPort', 'lmtpPort'] : component === 'postfix' ? ['smtpPort'] : ['port'];
  return keys.map((k) => i[k]).filter((p): p is number => typeof p === 'number');
}

/** Records one started server in lab.json at once, so a crash mid-start leaves nothing unstoppable. */
function recorder(file: LabFile) {
  return <T>(component: string, started: Started<T>): Started<T> => {
    const { server } = started;
    const ports = portsOf(component, started.info);
    file.servers.push(server);
    file.ports[server.name] = ports;
    file.identity[server.name] = pidIdentity(server.pid);
    writeLabFile(file);
    console.log(`lab: started ${server.name} pid=${server.pid} port=${ports.join(',')} log=${server.logFile}`);
    return started;
  };
}

function launch(dir: string, wanted: Set<LabComponent>, record: ReturnType<typeof recorder>, file: LabFile) {
  const legacy = startDovecot(dir, 'legacy').then((s) => record('dovecot', s));
  const cloud = startDovecot(dir, 'cloud').then((s) => record('dovecot', s));
  const tasks: Promise<unknown>[] = [legacy, cloud];
  if (wanted.has('ldap')) {
    tasks.push(import('./slapd.js').then((m) => m.startSlapd(dir)).then((s) => { file.ldap = record('ldap', s).info; }));
  }
  if (wanted.has('radicale')) {
    tasks.push(import('./radicale.js').then((m) => m.startRadicale(dir)).then((s) => { file.radicale = record('radicale', s).info; }));
  }
  if (wanted.has('postgres')) {
    tasks.push(startPostgres(dir).then((s) => { file.postgres = record('postgres', s).info; }));
  }
  if (wanted.has('postfix')) {
    // Postfix delivers example.com over LMTP into the legacy Dovecot, so it waits for it.
    tasks.push(Promise.all([legacy, import('./postfix.js')]).then(([l, m]) => m.startPostfix(dir, l.info))
      .then((s) => {
        // Known before the record is written, so stopLab uses stopPostfix for it even after a crash.
        file.postfix = s.info;
        file.postfixServer = s.server.name;
        record('postfix', s);
      }));
  }
  return { legacy, cloud, tasks };
}

function refuseRunningLab(dir: string): void {
  const old = readLabFile(dir);
  if (old && old.state !== 'stopped' && old.servers.some((s) => sameProcess(old, s))) {
    throw new Error(`lab: a lab is already running in ${dir} (run "npm run lab -- down ${dir}" first)`);
  }
}

/**
 * Starts the lab in DIR (independent servers in parallel) and writes DIR/lab.json.
 * If any server fails, stops every server this call started and throws with each
 * failure (their messages quote the server's log tail).
 */
export async function startLab(dir: string, opts: StartLabOptions = {}): Promise<LabInfo> {
  const wanted = componentsOf(opts);
  labDir(dir);
  refuseRunningLab(dir);
  const file: LabFile = {
    dir, state: 'starting', startedAt: new Date().toISOString(), domain: LAB_DOMAIN,
    servers: [], ports: {}, identity: {},
  };
  writeLabFile(file);
  const { legacy, cloud, tasks } = launch(dir, wanted, recorder(file), file);
  const results = await Promise.allSettled(tasks);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    await stopLab(dir);
    // A failed legacy Dovecot also fails Postfix's task with the same error: report it once.
    const why = new Set(failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))));
    throw new Error(`lab in ${dir} did not start; stopped what had started.\n${[...why].join('\n\n')}`);
  }
  file.dovecot = { legacy: (await legacy).info, cloud: (await cloud).info };
  file.state = 'running';
  writeLabFile(file);
  return file as LabInfo;
}

async function stopServer(file: LabFile, s: ServerRecord): Promise<void> {
  if (!sameProcess(file, s)) {
    if (isAlive(s.pid)) console.log(`lab: not stopping ${s.name}: pid ${s.pid} now belongs to another process`);
    return;
  }
  if (s.name === file.postfixServer && file.postfix) {
    const { stopPostfix } = await import('./postfix.js');
    await stopPostfix(file.postfix, s);
  } else if (s.name === 'postgres') {
    await stopPostgres(s);
  } else {
    await stopPid(s.pid);
  }
  console.log(`lab: stopped ${s.name} pid=${s.pid} port=${(file.ports[s.name] ?? []).join(',')}`);
}

/**
 * Stops exactly the PIDs recorded in DIR/lab.json (Postfix first: it delivers
 * into Dovecot), marks the lab stopped and removes nothing. Calling it again,
 * or on a directory without a lab, does nothing.
 */
export async function stopLab(dir: string): Promise<void> {
  const file = readLabFile(dir);
  if (!file || file.state === 'stopped') return;
  const postfix = file.servers.filter((s) => s.name === file.postfixServer);
  const others = file.servers.filter((s) => s.name !== file.postfixServer);
  await Promise.all(postfix.map((s) => stopServer(file, s)));
  const results = await Promise.allSettled(others.map((s) => stopServer(file, s)));
  file.state = 'stopped';
  file.stoppedAt = new Date().toISOString();
  writeLabFile(file);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) throw new Error(`lab in ${dir}: stop failed: ${failed.map((f) => String(f.reason)).join('; ')}`);
}

/** Reads a running lab's LabInfo from DIR/lab.json. */
export function attachLab(dir: string): LabInfo {
  const file = readLabFile(dir);
  if (!file) throw new Error(`lab: no lab in ${dir} (${labJsonPath(dir)} does not exist)`);
  if (file.state !== 'running') throw new Error(`lab in ${dir} is ${file.state}, not running`);
  return file as LabInfo;
}

export interface PortStatus { port: number; answering: boolean }
export interface ServerStatus { name: string; pid: number; alive: boolean; ports: PortStatus[]; logFile: string }

function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: LAB_HOST, port });
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

/** Per server of DIR/lab.json: is its PID alive, does each of its ports accept a connection. */
export async function labStatus(dir: string): Promise<ServerStatus[]> {
  const file = readLabFile(dir);
  if (!file) throw new Error(`lab: no lab in ${dir} (${labJsonPath(dir)} does not exist)`);
  return Promise.all(file.servers.map(async (s) => ({
    name: s.name,
    pid: s.pid,
    alive: sameProcess(file, s),
    logFile: s.logFile,
    ports: await Promise.all((file.ports[s.name] ?? []).map(async (port) => ({ port, answering: await portAnswers(port) }))),
  })));
}
