/**
 * The console's dependencies for `mailbridge serve`, from the store and the
 * config (the composition root's job: web never opens the database itself).
 */
import { planChecks } from '../../check/index.js';
import { gatewayHostname, searchTracking, Tracker, type Gateway } from '../../gateway/index.js';
import { QueueAccess, queueArea, trackingArea, type CheckRunSummary, type ConsoleArea, type ConsoleDeps } from '../../web/index.js';
import type { Store } from '../../store/index.js';
import type { Context } from '../context.js';
import type { FreeBusyBroker } from '../../calendar/index.js';
import { pageConsoleAreas } from './console-pages.js';

/** Per system the endpoints `check` probes, so one never checked shows as unknown. */
export function expectedEndpoints(ctx: Context): Record<string, string[]> {
  return Object.fromEntries(Object.entries(ctx.config.systems).map(([name, s]) => [name, planChecks(name, s, ctx.config.check.timeout).map((p) => p.endpoint)]));
}

/**
 * The Queue and Tracking pages. `gateway` answers the gateway this process runs
 * once it has started (serve starts it after the web server); without it the
 * console steers a gateway in another process through spool/control/.
 */
export function queueConsoleAreas(ctx: Context, store: Store, gateway?: () => Gateway | undefined): ConsoleArea[] {
  const search = (q: Parameters<typeof searchTracking>[1]): ReturnType<typeof searchTracking> => searchTracking(store, q);
  const config = ctx.config.gateway;
  if (!config) return [trackingArea({ search })];
  const tracker = new Tracker(store, gatewayHostname(config), ctx.log);
  const queue = new QueueAccess({
    spoolDir: config.spool, ...(gateway ? { gateway, gatewayInProcess: true } : {}),
    // Written at once (actions are rare): the page shows the event with the action's answer, and a shutdown right after loses nothing.
    tracking: { search, track: (e) => { tracker.track(e); void tracker.flush(); } },
  });
  return [queueArea(queue), trackingArea({ search, queue })];
}

export function buildConsoleDeps(ctx: Context, store: Store, runChecks: () => Promise<CheckRunSummary>, gateway?: () => Gateway | undefined, freebusy?: FreeBusyBroker): ConsoleDeps {
  return {
    organization: ctx.config.organization,
    users: ctx.config.web.users,
    checks: store.checks,
    audit: store.audit,
    runs: store.runs,
    expected: expectedEndpoints(ctx),
    // Two missed rounds (plus the time a round may take) before a light goes grey.
    staleAfterMs: 2 * ctx.config.probes.interval + ctx.config.check.timeout,
    runChecks,
    areas: [...queueConsoleAreas(ctx, store, gateway), ...pageConsoleAreas(ctx, store, freebusy)],
  };
}
