/**
 * The console's Directory, Migration, Free/busy and Charts areas and the chart
 * sampler, wired from the store, the config and the running gateway (the
 * composition root's job: web gets functions, never the database).
 */
import type { FreeBusyBroker } from '../../calendar/index.js';
import { showRecord } from '../../directory/index.js';
import { gatewayHostname, type Gateway } from '../../gateway/index.js';
import { Spool } from '../../spool/index.js';
import type { Store } from '../../store/index.js';
import { chartsArea, ConsoleSampler, directoryArea, freeBusyArea, migrationArea, type ConsoleArea } from '../../web/index.js';
import type { Context } from '../context.js';

export function pageConsoleAreas(ctx: Context, store: Store, freebusy?: FreeBusyBroker): ConsoleArea[] {
  const c = store.console;
  const areas: ConsoleArea[] = [
    directoryArea({
      systems: Object.keys(ctx.config.systems),
      people: (q) => c.searchPeople(q),
      show: (address) => showRecord(store, address, ctx.config),
      conflicts: () => c.conflicts(),
      runs: (o) => c.runs(o),
    }),
    migrationArea({
      users: (address) => c.migrationUsers(address),
      folders: (address) => c.migrationFolders(address),
      refusals: (address) => c.migrationRefusals(address),
      throughput: (o) => c.throughput(o),
      cutover: (address) => c.cutoverOf(address),
      lastVerify: (address) => store.audit.latest('migration.verify', address),
      ...(ctx.config.migration ? { from: ctx.config.migration.from, to: ctx.config.migration.to } : {}),
    }),
    chartsArea({ samples: (o) => c.samples(o) }),
  ];
  if (freebusy) areas.push(freeBusyArea({ broker: freebusy }));
  return areas;
}

/** Recipients waiting per destination in this node's spool ("unrouted": not attempted yet, or the first attempt still in flight). */
export function queueDepth(gateway: Gateway): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of gateway.spool.list()) {
    for (const r of m.recipients) {
      if (!Spool.pending(r)) continue;
      const key = r.destination ?? 'unrouted';
      out[key] = (out[key] ?? 0) + 1;
    }
  }
  return out;
}

/** The once-a-minute chart sampler of `serve`; `gateway` answers the running gateway, if any. */
export function startConsoleSampler(ctx: Context, store: Store, gateway?: () => Gateway | undefined): ConsoleSampler {
  const sampler = new ConsoleSampler({
    store: store.console, log: ctx.log, metrics: ctx.metrics,
    ...(ctx.config.gateway ? { node: gatewayHostname(ctx.config.gateway) } : {}),
    ...(gateway ? { queueDepth: () => { const g = gateway(); return g ? queueDepth(g) : {}; } } : {}),
  });
  sampler.start();
  return sampler;
}
