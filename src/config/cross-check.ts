/**
 * Checks that span sections: every system named anywhere exists, and the
 * migration goes from one system to another. They run even when other keys
 * have problems (so the administrator sees everything in one go), hence the
 * defensive reading of a value that may be only partly parsed.
 */
import type { z } from 'zod';

type Path = (string | number)[];

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function crossCheck(value: unknown, ctx: z.core.$RefinementCtx): void {
  const root = obj(value);
  const systemsObj = obj(root?.systems);
  if (!root || !systemsObj) return;
  const systems = Object.keys(systemsObj);
  const list = systems.map((s) => JSON.stringify(s)).join(', ');
  const mustExist = (name: unknown, path: Path) => {
    if (typeof name === 'string' && !systems.includes(name)) {
      ctx.addIssue({ code: 'custom', path, message: `no system named ${JSON.stringify(name)} (systems: ${list})` });
    }
  };

  const migration = obj(root.migration);
  if (migration) {
    mustExist(migration.from, ['migration', 'from']);
    mustExist(migration.to, ['migration', 'to']);
    if (typeof migration.from === 'string' && migration.from === migration.to) {
      ctx.addIssue({ code: 'custom', path: ['migration', 'to'], message: `must differ from migration.from (both are ${JSON.stringify(migration.from)})` });
    }
  }

  const routing = obj(obj(root.gateway)?.routing);
  if (routing) {
    mustExist(routing.overflowSystem, ['gateway', 'routing', 'overflowSystem']);
    for (const name of Object.keys(obj(routing.routingDomains) ?? {})) {
      mustExist(name, ['gateway', 'routing', 'routingDomains', name]);
    }
  }

  const gateway = obj(root.gateway);
  if (gateway?.auth !== undefined && gateway.tls === undefined) {
    // AUTH is offered only inside TLS (passwords never in plaintext): without a certificate nobody could log in.
    ctx.addIssue({ code: 'custom', path: ['gateway', 'auth'], message: 'needs gateway.tls (AUTH is offered only after STARTTLS)' });
  }

  const winners = obj(root.directory)?.conflictWinner;
  if (Array.isArray(winners)) winners.forEach((name, i) => mustExist(name, ['directory', 'conflictWinner', i]));

  for (const name of Object.keys(obj(obj(root.probes)?.mailboxes) ?? {})) {
    mustExist(name, ['probes', 'mailboxes', name]);
  }
}
