/**
 * `npm run lab -- up|down|status DIR [--only dovecot,ldap]`: start, stop or
 * inspect a lab by hand or from scripts/test.mjs. Exit 0 when all is well, 1 when
 * the lab failed to start or stop or a server is down, 2 on bad usage.
 */
import { resolve } from 'node:path';
import { ALL_COMPONENTS, labStatus, startLab, stopLab, type ServerStatus } from './lab.js';
import type { LabComponent } from './types.js';

const USAGE = 'usage: lab up|down|status DIR [--only dovecot,ldap,radicale,postfix,postgres]';

interface Args { command: string; dir: string; only?: LabComponent[] }

function parseArgs(argv: string[]): Args {
  const rest: string[] = [];
  let only: LabComponent[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? argv[++i] ?? '' : a.slice('--only='.length);
      only = list.split(',').map((c) => c.trim()).filter(Boolean) as LabComponent[];
      const bad = only.filter((c) => !ALL_COMPONENTS.includes(c));
      if (bad.length > 0) throw new UsageError(`unknown component(s) ${bad.join(', ')}`);
    } else {
      rest.push(a);
    }
  }
  const [command, dir] = rest;
  if (!command || !dir || rest.length > 2) throw new UsageError('expected a command and a directory');
  return { command, dir: resolve(dir), only };
}

class UsageError extends Error {}

function printTable(rows: ServerStatus[]): void {
  const lines = rows.map((r) => [
    r.name,
    String(r.pid),
    r.alive ? 'up' : 'DOWN',
    r.ports.map((p) => `${p.port}${p.answering ? '' : '(no answer)'}`).join(','),
  ]);
  const header = ['server', 'pid', 'state', 'ports'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  for (const l of [header, ...lines]) console.log(l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  switch (args.command) {
    case 'up': {
      const started = Date.now();
      await startLab(args.dir, { only: args.only });
      console.log(`lab: up in ${args.dir} (${Date.now() - started} ms)`);
      return 0;
    }
    case 'down': {
      const started = Date.now();
      await stopLab(args.dir);
      console.log(`lab: down in ${args.dir} (${Date.now() - started} ms)`);
      return 0;
    }
    case 'status': {
      const rows = await labStatus(args.dir);
      printTable(rows);
      const healthy = rows.length > 0 && rows.every((r) => r.alive && r.ports.every((p) => p.answering));
      return healthy ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown command "${args.command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`lab: ${err.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    }
  },
);
