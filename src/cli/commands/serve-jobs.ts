/**
 * serve's scheduled jobs beyond the endpoint checks: synthetic probes every
 * probes.interval, and migration delta passes on migration.schedule (users
 * already cut over are skipped). Each job stops taking new work the moment
 * serve shuts down and says what it left for the next start.
 */
import { Histogram } from 'prom-client';
import { nextDueIn, parseSchedule } from '../../config/index.js';
import type { Gateway } from '../../gateway/index.js';
import { migrateUser, ServerLimiter, type EngineDeps, type MigrationUser } from '../../migration/index.js';
import { deltaPassPlan, restoreCutoverState } from '../../cutover/index.js';
import { logEvent } from '../../observe/index.js';
import { Prober, repeat, type ProbeResult, type Repeater, type SubmitVia } from '../../probe/index.js';
import type { Store } from '../../store/index.js';
import type { Context } from '../context.js';
import { loadUsers } from './migrate.js';

/** Where probe messages go in: our own listener when this process runs the gateway, else the system's smtp endpoint. */
export function submitViaFor(ctx: Context, gateway: () => Gateway | undefined): (system: string) => SubmitVia | undefined {
  return (system) => {
    const gw = gateway();
    const listen = ctx.config.gateway?.listen[0];
    if (gw && listen && gw.ports[0]) {
      const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
      return { kind: 'gateway', host, port: gw.ports[0] };
    }
    // serve starts the gateway when the config has one: until it listens, the mail probe waits for it.
    if (ctx.config.gateway) return undefined;
    const s = ctx.config.systems[system];
    return s?.smtp ? { kind: 'direct', endpoint: s.smtp, ...(s.tlsInsecure ? { tlsInsecure: true } : {}) } : undefined;
  };
}

export function buildProber(ctx: Context, store: Store, gateway: () => Gateway | undefined, hostname: string): Prober {
  const c = ctx.config;
  return new Prober({
    systems: c.systems, mailboxes: c.probes.mailboxes ?? {}, domains: c.domains, calendar: c.calendar,
    submitVia: submitViaFor(ctx, gateway), hostname,
    timeoutMs: c.check.timeout,
    // A probe round must end before the next one is due.
    mailTimeoutMs: Math.max(5_000, Math.min(c.probes.interval - 1_000, 60_000)),
    checks: store.checks, log: ctx.log, metrics: ctx.metrics,
  });
}

/** Probes every probes.interval, the first round at once; never two rounds at once. */
export function scheduleProbes(ctx: Context, prober: Prober): Repeater {
  const round = async (): Promise<ProbeResult[]> => {
    const results = await prober.runOnce();
    const failed = results.filter((r) => !r.ok).length;
    logEvent(ctx.log, 'probe.round.finished', { probes: results.length, failed }, undefined, ctx.metrics);
    return results;
  };
  return repeat(round, () => ctx.config.probes.interval, (err) => logEvent(ctx.log, 'service.crashed', { err, job: 'probe' }, undefined, ctx.metrics), 0);
}

/** Addresses that are cut over (migration_users, users, cutover_users): a delta pass must leave them alone. */
export async function cutOverAddresses(store: Store, now = Date.now()): Promise<Set<string>> {
  const candidates = new Set<string>();
  const a = await store.db.selectFrom('migration_users').select('address').where('state', '=', 'cutover').execute();
  for (const r of a) candidates.add(r.address.toLowerCase());
  const b = await store.db.selectFrom('users').select('address').where('migration_state', '=', 'cutover').execute();
  for (const r of b) candidates.add(r.address.toLowerCase());
  // The cutover's own rule (src/cutover deltaPassPlan): a user inside a --keep-syncing grace is not skipped.
  const plan = await deltaPassPlan(store, [...candidates].map((address) => ({ address })), now);
  return new Set([...candidates].filter((a) => !plan.keepSyncing.includes(a)));
}

export interface DeltaCounts { users: number; ok: number; failed: number; skipped: number; notReached: number }

/** Engine deps for serve's delta passes; `sleep` lets shutdown cut a retry's backoff short. */
export function deltaDeps(ctx: Context, store: Store, sleep?: (ms: number) => Promise<void>): EngineDeps {
  const m = ctx.config.migration;
  if (!m) throw new Error(`${ctx.config.file}: migration: the section is missing`);
  return {
    migration: m, source: ctx.config.systems[m.from]!, target: ctx.config.systems[m.to]!, db: store.db, log: ctx.log, metrics: ctx.metrics,
    ...(sleep ? { sleep, limiter: new ServerLimiter(m.concurrency, Date.now, sleep) } : {}),
  };
}

/**
 * One delta pass over the migration's users (migration.users or the directory),
 * leaving out those cut over; recorded as a 'migration' run. Workers stop taking
 * users once `stopping()` says so (the rest wait for the next pass).
 */
export async function runDeltaPass(ctx: Context, store: Store, deps: EngineDeps, stopping: () => boolean = () => false): Promise<DeltaCounts & { total: number }> {
  const all = await loadUsers(ctx.config, {}, store).catch(() => [] as MigrationUser[]);
  // Cut-over users are skipped, except those inside their --keep-syncing grace (their state goes back to 'cutover' after).
  const plan = await deltaPassPlan(store, all);
  const skip = await cutOverAddresses(store);
  const users = plan.run.filter((u) => !skip.has(u.address.toLowerCase()));
  const run = await store.runs.start('migration');
  logEvent(ctx.log, 'migration.delta.started', { run: run.id, users: users.length, skipped: all.length - users.length }, undefined, ctx.metrics);
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (!stopping() && next < users.length) {
      const r = await migrateUser(deps, users[next++]!);
      if (r.ok) ok++;
      else failed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.migration.concurrency, users.length)) }, worker));
  } finally {
    await restoreCutoverState(store, plan.keepSyncing);
  }
  const counts: DeltaCounts = { users: users.length, ok, failed, skipped: all.length - users.length, notReached: users.length - ok - failed };
  await store.runs.finish(run.id, failed ? 'failed' : 'ok', { ...counts }, failed ? `${failed} user(s) failed` : stopping() ? 'stopped by shutdown' : null);
  logEvent(ctx.log, 'migration.delta.finished', { run: run.id, ...counts }, undefined, ctx.metrics);
  return { ...counts, total: all.length };
}

export interface DeltaScheduler {
  stop(deadlineMs: number): Promise<void>;
  /** Users the migration covers, from the last pass (null before the first). */
  totalUsers(): number | null;
}

/** Delta passes on migration.schedule; undefined when there is no schedule or no migration. */
export function scheduleDeltas(ctx: Context, store: Store): DeltaScheduler | undefined {
  const m = ctx.config.migration;
  if (!m?.schedule) return undefined;
  const parsed = parseSchedule(m.schedule);
  if (!parsed.ok) throw new Error(`${ctx.config.file}: migration.schedule: ${parsed.reason}`);
  const schedule = parsed.value;
  let stopping = false;
  let total: number | null = null;
  const wake = new Set<() => void>();
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const t = setTimeout(() => { wake.delete(done); resolve(); }, ms);
    const done = (): void => { clearTimeout(t); resolve(); };
    wake.add(done);
  });
  // Shutdown cuts a retry's backoff short: the pass then ends and resumes at the next start.
  const deps = deltaDeps(ctx, store, sleep);
  const pass = async (): Promise<void> => {
    total = (await runDeltaPass(ctx, store, deps, () => stopping)).total;
  };
  const rep = repeat(pass, () => nextDueIn(schedule, new Date()), (err) => logEvent(ctx.log, 'service.crashed', { err, job: 'migration-delta' }, undefined, ctx.metrics),
    nextDueIn(schedule, new Date()));
  return {
    totalUsers: () => total,
    async stop(deadlineMs: number) {
      stopping = true;
      for (const w of wake) w();
      let timer: NodeJS.Timeout | undefined;
      const parked = await Promise.race([
        rep.stop().then(() => false),
        new Promise<boolean>((r) => { timer = setTimeout(() => r(true), deadlineMs); }),
      ]);
      clearTimeout(timer);
      if (parked) logEvent(ctx.log, 'service.shutdown.parked', { job: 'migration-delta', reason: 'a user pass was still copying; it resumes from its saved state' }, undefined, ctx.metrics);
    },
  };
}

/** The duration of the directory syncs this process runs (the store gauges show the last one of any node). */
export function directorySyncTimer(ctx: Context): <T extends { status: string }>(run: () => Promise<T>) => Promise<T> {
  const h = new Histogram({
    name: 'mailbridge_directory_sync_duration_seconds', help: 'Duration of directory syncs run by this process, by status',
    labelNames: ['status'], buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [ctx.metrics.registry],
  });
  return async (run) => {
    const t0 = performance.now();
    let status = 'failed';
    try {
      const r = await run();
      status = r.status;
      return r;
    } finally {
      h.observe({ status }, (performance.now() - t0) / 1000);
    }
  };
}
