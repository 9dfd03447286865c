/** The gateway as a child process (`node bin/mailbridge.js gateway`) with a config written to a temp dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = new URL('../../../', import.meta.url).pathname;
export const BIN = join(REPO, 'bin/mailbridge.js');

export interface ChildConfig {
  dir: string;
  gatewayPort: number;
  backendPort: number;
  externalPort?: number;
  people: string[];
  retry?: string;
  extraGateway?: string;
}

/** Writes mailbridge.yaml (both systems deliver to the backend) and the people CSV; returns the config path. */
export function writeConfig(c: ChildConfig): string {
  writeFileSync(join(c.dir, 'legacy.csv'), `address,name,aliases\n${c.people.join('\n')}\n`);
  writeFileSync(join(c.dir, 'cloud.csv'), 'address,name,aliases\n');
  const yaml = `organization: Test
domains: [example.com]
store: { sqlite: ./mailbridge.db }
systems:
  legacy:
    smtp: { host: 127.0.0.1, port: ${c.backendPort}, protocol: smtp, tls: none }
    users: ./legacy.csv
  cloud:
    smtp: { host: 127.0.0.1, port: ${c.backendPort}, protocol: smtp, tls: none }
    users: ./cloud.csv
gateway:
  listen: [{ host: 127.0.0.1, port: ${c.gatewayPort} }]
  spool: ./spool
  hostname: gw.test
  retry: ${c.retry ?? '{ schedule: [200ms], maxAge: 1h, warnAfter: 1h }'}
${c.externalPort ? `  external: { host: 127.0.0.1, port: ${c.externalPort}, tls: none }\n` : ''}${c.extraGateway ?? ''}`;
  const file = join(c.dir, 'mailbridge.yaml');
  writeFileSync(file, yaml);
  return file;
}

export interface Running {
  child: ChildProcess;
  stderr: () => string;
}

/** Starts the gateway and resolves once it prints its listening line. */
export function startChild(config: string): Promise<Running> {
  const child = spawn(process.execPath, [BIN, '--config', config, '--log-level', 'warn', 'gateway'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('gateway listening on')) { clearTimeout(timer); resolve({ child, stderr: () => err }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway exited ${code}: ${err}`)); });
  });
}

export function runCli(config: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, '--config', config, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

export async function stopChild(r: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  const exited = new Promise((res) => r.child.once('exit', res));
  r.child.kill(signal);
  await exited;
}
