/**
 * The figures the overview and /metrics show beside the lights, read from the
 * store (so every node sharing it shows the same): open directory conflicts,
 * the last directory sync, migration users by state, messages and bytes copied,
 * and an ETA. Read at most every few seconds (the overview feed and a scrape
 * both ask), and registered as gauges computed at scrape time.
 */
import { Gauge, type Registry } from 'prom-client';
import { sql } from 'kysely';
import type { Gateway } from '../../gateway/index.js';
import { planProbes, PROBE_ENDPOINTS } from '../../probe/index.js';
import type { Store } from '../../store/index.js';
import type { ConsoleDeps } from '../../web/index.js';
import type { Context } from '../context.js';

export interface MigrationFigures {
  users: Record<string, number>;
  totalUsers: number | null;
  messagesCopied: number;
  bytesCopied: number;
  etaMs: number | null;
}

export interface StoreFigures {
  conflicts(): Promise<number>;
  migration(): Promise<MigrationFigures>;
}

/** Users whose first pass is still to come, spread over `concurrency` workers at the mean pass time so far. */
export function estimateEta(users: Record<string, number>, totalUsers: number | null, meanPassMs: number | null, concurrency: number): number | null {
  if (meanPassMs === null || totalUsers === null) return null;
  const done = ['synced', 'verified', 'cutover'].reduce((n, k) => n + (users[k] ?? 0), 0);
  const left = Math.max(0, totalUsers - done);
  return Math.round((left * meanPassMs) / Math.max(1, concurrency));
}

function cached<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let at = 0;
  let value: Promise<T> | undefined;
  return () => {
    const now = Date.now();
    if (!value || now - at > ttlMs) {
      at = now;
      value = load();
      value.catch(() => { value = undefined; });
    }
    return value;
  };
}

export function storeFigures(store: Store, opts: { totalUsers: () => number | null; concurrency: number; ttlMs?: number }): StoreFigures {
  const ttl = opts.ttlMs ?? 3000;
  const conflicts = cached(ttl, async () => {
    const r = await store.db.selectFrom('directory_conflicts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  });
  const migration = cached(ttl, async (): Promise<MigrationFigures> => {
    const byState = await store.db.selectFrom('migration_users').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    const users: Record<string, number> = {};
    for (const r of byState) users[r.state] = Number(r.n);
    const copied = await store.db.selectFrom('migration_messages').where('state', '=', 'done')
      .select([(eb) => eb.fn.countAll<number>().as('n'), sql<number>`coalesce(sum(size), 0)`.as('bytes')]).executeTakeFirst();
    // Mean duration of the finished first passes (passes = 1), the best guess for the users still to come.
    const mean = await store.db.selectFrom('migration_users').where('passes', '=', 1).where('finished_at', 'is not', null).where('started_at', 'is not', null)
      .select(sql<number | null>`avg(finished_at - started_at)`.as('ms')).executeTakeFirst();
    const meanMs = mean?.ms == null ? null : Number(mean.ms);
    const totalUsers = opts.totalUsers();
    return {
      users, totalUsers, messagesCopied: Number(copied?.n ?? 0), bytesCopied: Number(copied?.bytes ?? 0),
      etaMs: estimateEta(users, totalUsers, meanMs, opts.concurrency),
    };
  });
  return { conflicts, migration };
}

/** Directory and migration gauges from the store, computed at scrape time (names per STYLE.md; no addresses). */
export function registerStoreMetrics(registry: Registry, store: Store, figures: StoreFigures): void {
  const registers = [registry];
  new Gauge({
    name: 'mailbridge_migration_users', help: 'Users of the migration by state', labelNames: ['state'], registers,
    async collect() {
      const m = await figures.migration();
      this.reset();
      for (const [state, n] of Object.entries(m.users)) this.set({ state }, n);
    },
  });
  new Gauge({ name: 'mailbridge_migration_copied_messages', help: 'Messages copied to the target so far (all users, from the store)', registers,
    async collect() { this.set((await figures.migration()).messagesCopied); } });
  new Gauge({ name: 'mailbridge_migration_copied_bytes', help: 'Bytes of messages copied to the target so far (all users, from the store)', registers,
    async collect() { this.set((await figures.migration()).bytesCopied); } });
  new Gauge({ name: 'mailbridge_directory_conflicts', help: 'Open address conflicts in the unified directory', registers,
    async collect() { this.set(await figures.conflicts()); } });
  const last = (): ReturnType<Store['runs']['latest']> => store.runs.latest('directory');
  new Gauge({ name: 'mailbridge_directory_last_sync_duration_seconds', help: 'Duration of the last finished directory sync', registers,
    async collect() { const r = await last(); this.reset(); if (r?.finishedAt) this.set((r.finishedAt - r.startedAt) / 1000); } });
  new Gauge({ name: 'mailbridge_directory_last_sync_timestamp_seconds', help: 'When the last directory sync finished (Unix time)', registers,
    async collect() { const r = await last(); this.reset(); if (r?.finishedAt) this.set(r.finishedAt / 1000); } });
  new Gauge({ name: 'mailbridge_directory_last_sync_success', help: '1 when the last directory sync ended ok, else 0', registers,
    async collect() { const r = await last(); this.reset(); if (r?.finishedAt) this.set(r.status === 'ok' ? 1 : 0); } });
  new Gauge({ name: 'mailbridge_directory_last_sync_items', help: 'Counts of the last directory sync by kind (added, changed, deleted, conflicts, ...)', labelNames: ['kind'], registers,
    async collect() {
      const r = await last();
      this.reset();
      for (const [kind, n] of Object.entries(r?.counts ?? {})) if (typeof n === 'number') this.set({ kind }, n);
    } });
}

/** The overview's extra providers for serve: probe endpoints, gateway queue, conflicts and migration progress. */
export function overviewDeps(ctx: Context, base: Pick<ConsoleDeps, 'expected'>, figures: StoreFigures, gateway: (() => Gateway | undefined) | undefined): Partial<ConsoleDeps> {
  const c = ctx.config;
  const plans = planProbes({
    systems: c.systems, mailboxes: c.probes.mailboxes ?? {},
    // Planned from the config: the gateway this process starts, or the system's own smtp endpoint.
    submitVia: (system) => (c.gateway || c.systems[system]?.smtp ? { kind: 'gateway', host: '', port: 0 } : undefined),
  });
  const expected: Record<string, string[]> = { ...(base.expected ?? {}) };
  for (const p of plans) expected[p.system] = [...(expected[p.system] ?? []), ...p.kinds.map((k) => PROBE_ENDPOINTS[k])];
  return {
    expected,
    ...(gateway ? { queue: () => gateway()?.queueByDestination() } : {}),
    conflicts: figures.conflicts,
    ...(c.migration ? { migration: figures.migration } : {}),
  };
}
