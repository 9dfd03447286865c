/**
 * `mailbridge serve`: runs what the config enables in one process. Today that is
 * the web listener (health, readiness, metrics) and the scheduled endpoint checks
 * (every probes.interval, recorded in the store and as metrics); the gateway,
 * directory sync, migration passes and the console join as they land.
 */
import type { Command } from 'commander';
import { runChecks, type CheckReport } from '../../check/index.js';
import { logEvent } from '../../observe/index.js';
import { createWebServer } from '../../web/index.js';
import { buildFreeBusyBroker } from './freebusy.js';
import { createContext, openStoreFor, probeUsers, type Context, type GlobalOptions } from '../context.js';
import type { Store } from '../../store/index.js';

async function checkOnce(ctx: Context, store: Store): Promise<CheckReport> {
  // No made-up probe logins on a schedule: Dovecot slows every later login from
  // our address after each failed one, which would slow migration logins too.
  const report = await runChecks({ systems: ctx.config.systems, timeoutMs: ctx.config.check.timeout }, { probeUsers: probeUsers(ctx.config), madeUpProbe: false });
  for (const r of report.results) {
    ctx.metrics.checkUp.set({ system: r.system, endpoint: r.endpoint }, r.ok ? 1 : 0);
    ctx.metrics.checkLatency.observe({ endpoint: r.endpoint }, r.latencyMs / 1000);
    await store.checks.record({ system: r.system, endpoint: r.endpoint, ok: r.ok, detail: r.ok ? r.summary : (r.error?.reason ?? r.summary), latencyMs: r.latencyMs, checkedAt: Date.now() });
    if (!r.ok) logEvent(ctx.log, 'check.endpoint.failed', { system: r.system, endpoint: r.endpoint, code: r.error?.code, reason: r.error?.reason }, undefined, ctx.metrics);
  }
  logEvent(ctx.log, 'check.finished', { ok: report.ok, endpoints: report.results.length, durationMs: report.durationMs }, undefined, ctx.metrics);
  return report;
}

export function registerServe(program: Command): void {
  program.command('serve')
    .description('run the web listener and scheduled jobs (gateway, console and sync join as they land)')
    .action(async () => {
      const ctx = createContext(program.opts<GlobalOptions>());
      logEvent(ctx.log, 'service.starting', { config: ctx.config.file }, undefined, ctx.metrics);
      const store = await openStoreFor(ctx);
      let storeOpen = true;
      const freebusy = buildFreeBusyBroker(ctx);
      const web = createWebServer({
        log: ctx.log,
        metrics: ctx.metrics,
        metricsPublic: ctx.config.web.metrics.public,
        notReady: () => (storeOpen ? [] : ['store closed']),
        freebusy: { broker: freebusy, access: ctx.config.web.freebusy, metrics: ctx.metrics },
      });
      const { host, port } = ctx.config.web.listen;
      await web.listen({ host, port });
      logEvent(ctx.log, 'service.ready', { web: `http://${host}:${port}/` }, undefined, ctx.metrics);

      let running: Promise<unknown> = checkOnce(ctx, store).catch((err: unknown) => logEvent(ctx.log, 'service.crashed', { err, job: 'check' }));
      const timer = setInterval(() => {
        running = running.then(() => checkOnce(ctx, store)).catch((err: unknown) => logEvent(ctx.log, 'service.crashed', { err, job: 'check' }));
      }, ctx.config.probes.interval);

      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logEvent(ctx.log, 'service.stopping', { signal }, undefined, ctx.metrics);
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      clearInterval(timer);
      await web.close();
      freebusy.close();
      await running;
      storeOpen = false;
      await store.close();
      logEvent(ctx.log, 'service.stopped', {}, undefined, ctx.metrics);
    });
}
