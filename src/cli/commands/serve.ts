/**
 * `mailbridge serve`: runs what the config enables in one process: the web
 * listener (console, API, /freebusy, health, readiness, metrics), the SMTP
 * gateway (when `gateway` is configured), endpoint checks every probes.interval
 * and directory sync every directory.interval, synthetic probes every
 * probes.interval, migration delta passes on migration.schedule; graceful
 * shutdown on SIGTERM/SIGINT within 30 s.
 */
import type { Command } from 'commander';
import { runChecks, type CheckReport } from '../../check/index.js';
import { logEvent } from '../../observe/index.js';
import { runDirectorySync, scheduleDirectorySync } from '../../directory/index.js';
import { createWebServer } from '../../web/index.js';
import { buildFreeBusyBroker } from './freebusy.js';
import { buildConsoleDeps } from './console-deps.js';
import { startConsoleSampler } from './console-pages.js';
import { startGatewayFor } from './gateway.js';
import { overviewDeps, registerStoreMetrics, storeFigures } from './console-figures.js';
import { buildProber, directorySyncTimer, scheduleDeltas, scheduleProbes } from './serve-jobs.js';
import { loadUsers } from './migrate.js';
import { startWaveScheduler } from './cutover.js';
import { gatewayHostname } from '../../gateway/index.js';
import { hostname as osHostname } from 'node:os';
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
      // Set once the gateway has started (after the web server): the console's queue pages use it.
      const gatewayRef: { current: Awaited<ReturnType<typeof startGatewayFor>> | undefined } = { current: undefined };
      // Migration delta passes on migration.schedule (a bad schedule fails here, before anything listens).
      const deltas = scheduleDeltas(ctx, store);
      // Users the migration covers (for the overview's progress and ETA): read once now, then at each delta pass.
      let migrationTotal: number | null = null;
      if (ctx.config.migration) void loadUsers(ctx.config, {}, store).then((u) => { migrationTotal = u.length; }, () => undefined);
      const figures = storeFigures(store, { totalUsers: () => deltas?.totalUsers() ?? migrationTotal, concurrency: ctx.config.migration?.concurrency ?? 1 });
      registerStoreMetrics(ctx.metrics.registry, store, figures);
      const consoleDeps = buildConsoleDeps(ctx, store, () => checkNow(), ctx.config.gateway ? () => gatewayRef.current : undefined, freebusy);
      const web = createWebServer({
        log: ctx.log,
        metrics: ctx.metrics,
        metricsPublic: ctx.config.web.metrics.public,
        notReady: () => (storeOpen ? [] : ['store closed']),
        freebusy: { broker: freebusy, access: ctx.config.web.freebusy, metrics: ctx.metrics },
        console: { ...consoleDeps, ...overviewDeps(ctx, consoleDeps, figures, ctx.config.gateway ? () => gatewayRef.current : undefined) },
      });
      const { host, port } = ctx.config.web.listen;
      await web.listen({ host, port });
      // The SMTP gateway, when the config has a gateway section.
      const gateway = ctx.config.gateway ? await startGatewayFor(ctx, store) : undefined;
      gatewayRef.current = gateway;
      // Cutover waves at their time (migration.waves), once the gateway holds mail (issue 8).
      const waves = startWaveScheduler(ctx, store);
      // Synthetic probes every probes.interval, the first round now.
      const prober = buildProber(ctx, store, () => gatewayRef.current, ctx.config.gateway ? gatewayHostname(ctx.config.gateway) : osHostname());
      const probes = scheduleProbes(ctx, prober);
      // Chart history (queue depth, delivery latency, migration throughput), once a minute.
      const sampler = startConsoleSampler(ctx, store, ctx.config.gateway ? () => gatewayRef.current : undefined);
      logEvent(ctx.log, 'service.ready', {
        web: `http://${host}:${port}/`,
        ...(gateway && ctx.config.gateway ? { smtp: ctx.config.gateway.listen.map((l, i) => `${l.host}:${gateway.ports[i]}`) } : {}),
      }, undefined, ctx.metrics);

      // Directory sync every directory.interval when any system has a directory source.
      const hasDirectory = Object.values(ctx.config.systems).some((s) => s.ldap || s.users || s.ldif);
      const timed = directorySyncTimer(ctx);
      const directory = hasDirectory
        ? scheduleDirectorySync(
          () => timed(() => runDirectorySync({ store, log: ctx.log, metrics: ctx.metrics, settings: ctx.config, ldap: { timeoutMs: ctx.config.check.timeout } }, { dryRun: false, allowDeletes: false })),
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
        // The synthetic probes run with it, so "Check now" refreshes every light.
        const [r, probedOrNone] = await Promise.all([next, probes.runNow<{ ok: boolean }[] | undefined>()]);
        const probed = probedOrNone ?? [];
        return { ok: r.ok && probed.every((p) => p.ok), endpoints: r.results.length + probed.length, durationMs: r.durationMs };
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
      // Graceful shutdown within 30 s: stop accepting (SMTP and HTTP), stop the schedules,
      // let in-flight work finish or park it (the spool and the migration state make both
      // resumable), flush the store, exit 0. A watchdog exits 0 if anything still hangs.
      const started = Date.now();
      const left = (budgetMs: number): number => Math.max(1_000, budgetMs - (Date.now() - started));
      const watchdog = setTimeout(() => {
        logEvent(ctx.log, 'service.shutdown.parked', { job: 'shutdown', reason: 'still busy after 28 s; exiting, in-flight work resumes at the next start' }, undefined, ctx.metrics);
        process.exit(0);
      }, 28_000);
      watchdog.unref();
      clearInterval(timer);
      const bounded = async (job: string, work: Promise<unknown>, budgetMs: number): Promise<void> => {
        let t: NodeJS.Timeout | undefined;
        const parked = await Promise.race([work.then(() => false, () => false), new Promise<boolean>((r) => { t = setTimeout(() => r(true), left(budgetMs)); })]);
        clearTimeout(t);
        if (parked) logEvent(ctx.log, 'service.shutdown.parked', { job, reason: 'did not finish in time; it resumes from its saved state' }, undefined, ctx.metrics);
      };
      await Promise.all([
        bounded('gateway', gateway ? gateway.stop() : Promise.resolve(), 20_000),
        bounded('web', web.close(), 10_000),
        bounded('migration-delta', deltas ? deltas.stop(left(20_000)) : Promise.resolve(), 21_000),
        bounded('probe', probes.stop(), 15_000),
        bounded('cutover-waves', waves ? waves.stop() : Promise.resolve(), 21_000),
        bounded('sampler', sampler.stop(), 10_000),
      ]);
      freebusy.close();
      prober.close();
      await bounded('check', running, 22_000);
      await bounded('directory', directory ? directory.stop() : Promise.resolve(), 24_000);
      storeOpen = false;
      await bounded('store', store.close(), 26_000);
      logEvent(ctx.log, 'service.stopped', { ms: Date.now() - started }, undefined, ctx.metrics);
      // Sockets a parked job still holds must not keep the process past its shutdown.
      setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
    });
}
