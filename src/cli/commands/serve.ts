/**
 * `mailbridge serve`: runs what the config enables in one process: the web
 * listener (console, API, /freebusy, health, readiness, metrics), the SMTP
 * gateway (when `gateway` is configured), endpoint checks every probes.interval
 * and directory sync every directory.interval. Migration delta passes on
 * migration.schedule and synthetic probe messages are not scheduled yet.
 */
import type { Command } from 'commander';
import { runChecks, type CheckReport } from '../../check/index.js';
import { logEvent } from '../../observe/index.js';
import { runDirectorySync, scheduleDirectorySync } from '../../directory/index.js';
import { createWebServer } from '../../web/index.js';
import { buildFreeBusyBroker } from './freebusy.js';
import { buildConsoleDeps } from './console-deps.js';
import { startGatewayFor } from './gateway.js';
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
    .description('run the console and API, the SMTP gateway, scheduled checks and directory sync')
    .action(async () => {
      const ctx = createContext(program.opts<GlobalOptions>());
      logEvent(ctx.log, 'service.starting', { config: ctx.config.file }, undefined, ctx.metrics);
      const store = await openStoreFor(ctx);
      let storeOpen = true;
      const freebusy = buildFreeBusyBroker(ctx, store);
      const web = createWebServer({
        log: ctx.log,
        metrics: ctx.metrics,
        metricsPublic: ctx.config.web.metrics.public,
        notReady: () => (storeOpen ? [] : ['store closed']),
        freebusy: { broker: freebusy, access: ctx.config.web.freebusy, metrics: ctx.metrics },
        console: buildConsoleDeps(ctx, store, () => checkNow()),
      });
      const { host, port } = ctx.config.web.listen;
      await web.listen({ host, port });
      // The SMTP gateway, when the config has a gateway section.
      const gateway = ctx.config.gateway ? await startGatewayFor(ctx, store) : undefined;
      logEvent(ctx.log, 'service.ready', {
        web: `http://${host}:${port}/`,
        ...(gateway && ctx.config.gateway ? { smtp: ctx.config.gateway.listen.map((l, i) => `${l.host}:${gateway.ports[i]}`) } : {}),
      }, undefined, ctx.metrics);

      // Directory sync every directory.interval when any system has a directory source.
      const hasDirectory = Object.values(ctx.config.systems).some((s) => s.ldap || s.users || s.ldif);
      const directory = hasDirectory
        ? scheduleDirectorySync(
          () => runDirectorySync({ store, log: ctx.log, metrics: ctx.metrics, settings: ctx.config, ldap: { timeoutMs: ctx.config.check.timeout } }, { dryRun: false, allowDeletes: false }),
          ctx.config.directory.interval)
        : undefined;

      let running: Promise<unknown> = checkOnce(ctx, store).catch((err: unknown) => logEvent(ctx.log, 'service.crashed', { err, job: 'check' }));
      const timer = setInterval(() => {
        running = running.then(() => checkOnce(ctx, store)).catch((err: unknown) => logEvent(ctx.log, 'service.crashed', { err, job: 'check' }));
      }, ctx.config.probes.interval);
      // The console's "check now": queued behind a round in progress, never two at once.
      const checkNow = async () => {
        const next = running.then(() => checkOnce(ctx, store));
        running = next.catch((err: unknown) => logEvent(ctx.log, 'service.crashed', { err, job: 'check' }));
        const r = await next;
        return { ok: r.ok, endpoints: r.results.length, durationMs: r.durationMs };
      };

      await new Promise<void>((resolve) => {
        let stopping = false;
        // A second signal (a terminal's Ctrl-C reaches both the demo and us) must not
        // kill the process halfway through its shutdown.
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          logEvent(ctx.log, 'service.stopping', { signal }, undefined, ctx.metrics);
          resolve();
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      });
      clearInterval(timer);
      await gateway?.stop();
      await web.close();
      freebusy.close();
      await running;
      await directory?.stop();
      storeOpen = false;
      await store.close();
      logEvent(ctx.log, 'service.stopped', {}, undefined, ctx.metrics);
    });
}
