/**
 * Chart history for the console (issue 7). `serve` samples once a minute
 * (ConsoleSampler): queue depth per destination, delivery latency p50/p95 of the
 * recipients delivered in that minute, messages and bytes the migration copied
 * in that minute; samples live in the store for 48 h, so every node of a shared
 * store sees the same history. GET /api/charts?series=a,b&since=T reads them.
 */
import type { FastifyBaseLogger } from 'fastify';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import type { SampleInput, SeriesPoints } from '../store/index.js';
import type { App, ConsoleArea } from './console-routes.js';
import { parseParams } from './console-params.js';
import { badRequest, HOUR } from './console-page-util.js';

export const SERIES = ['queue.depth', 'delivery.latency.p50', 'delivery.latency.p95', 'migration.messages', 'migration.bytes'] as const;
export type SeriesName = (typeof SERIES)[number];

export interface ChartsAreaDeps {
  samples(opts: { series: readonly string[]; since: number }): Promise<SeriesPoints[]>;
  now?: () => number;
}

export function chartsArea(deps: ChartsAreaDeps): ConsoleArea {
  const now = deps.now ?? Date.now;
  const spec = { series: { kind: 'text', max: 400 }, since: { kind: 'time' } } as const;
  return <L extends FastifyBaseLogger>(app: App<L>): void => {
    app.get('/api/charts', async (req, reply) => {
      const p = parseParams(req.query, spec);
      if (!p.ok) return badRequest(reply, p.error);
      const names = p.value.series ? p.value.series.split(',').map((s) => s.trim()).filter(Boolean) : [...SERIES];
      const unknown = names.filter((n) => !(SERIES as readonly string[]).includes(n));
      if (unknown.length) return badRequest(reply, `series: unknown ${unknown.map((u) => JSON.stringify(u.slice(0, 40))).join(', ')} (known: ${SERIES.join(', ')})`);
      const t = now();
      const since = p.value.since ?? t - 24 * HOUR;
      if (since > t) return badRequest(reply, 'since: in the future');
      return { since, until: t, series: sumQueueDepthOverNodes(await deps.samples({ series: names, since })) };
    });
  };
}

/**
 * Each gateway node samples its own spool, labelled DESTINATION@NODE; the chart
 * shows a destination's depth over all nodes: the sum per minute.
 */
export function sumQueueDepthOverNodes(series: SeriesPoints[]): SeriesPoints[] {
  const out: SeriesPoints[] = [];
  const depth = new Map<string, Map<number, number>>();
  for (const s of series) {
    if (s.series !== 'queue.depth') { out.push(s); continue; }
    const dest = s.label.replace(/@[^@]*$/, '');
    const byAt = depth.get(dest) ?? new Map<number, number>();
    for (const [at, v] of s.points) byAt.set(at, (byAt.get(at) ?? 0) + v);
    depth.set(dest, byAt);
  }
  const summed = [...depth].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([label, byAt]) => ({ series: 'queue.depth', label, points: [...byAt].sort((a, b) => a[0] - b[0]) }));
  return [...summed, ...out];
}

/** The q-quantile (0..1) of values by nearest rank; undefined for none. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** p50 and p95 of one interval's latencies; none when nothing was delivered (a gap in the chart, not a zero). */
function latencySamples(at: number, values: readonly number[]): SampleInput[] {
  const p50 = quantile(values, 0.5);
  const p95 = quantile(values, 0.95);
  if (p50 === undefined || p95 === undefined) return [];
  return [{ series: 'delivery.latency.p50', at, value: p50 }, { series: 'delivery.latency.p95', at, value: p95 }];
}

export interface SamplerDeps {
  store: {
    recordSamples(samples: readonly SampleInput[]): Promise<void>;
    pruneSamples(before: number): Promise<number>;
    copiedBetween(from: number, to: number): Promise<{ messages: number; bytes: number }>;
    deliveryLatencies(from: number, to: number): Promise<{ at: number; ms: number }[]>;
    throughput(opts: { since: number; bucketMs: number }): Promise<{ at: number; messages: number; bytes: number }[]>;
  };
  /** Recipients waiting per destination, from this node's spool; absent without a gateway. */
  queueDepth?: () => Record<string, number>;
  /** This gateway node's name: queue depth is labelled DESTINATION@NODE, so nodes sharing a store do not overwrite each other. */
  node?: string;
  log: Logger;
  metrics?: Metrics;
  intervalMs?: number;
  retentionMs?: number;
  now?: () => number;
}

/** Samples once a minute (aligned to the minute) and prunes old samples once an hour. */
export class ConsoleSampler {
  readonly #d: SamplerDeps;
  readonly #interval: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #lastPrune = 0;

  constructor(deps: SamplerDeps) {
    this.#d = deps;
    this.#interval = deps.intervalMs ?? 60_000;
  }

  /** The samples of the interval ending at `at` (a multiple of the interval), written to the store. */
  async sampleOnce(at: number): Promise<SampleInput[]> {
    const from = at - this.#interval;
    const out: SampleInput[] = [];
    for (const [dest, value] of Object.entries(this.#d.queueDepth?.() ?? {})) {
      out.push({ series: 'queue.depth', label: this.#d.node ? `${dest}@${this.#d.node}` : dest, at, value });
    }
    out.push(...latencySamples(at, (await this.#d.store.deliveryLatencies(from, at)).map((l) => l.ms)));
    const copied = await this.#d.store.copiedBetween(from, at);
    out.push({ series: 'migration.messages', at, value: copied.messages }, { series: 'migration.bytes', at, value: copied.bytes });
    await this.#d.store.recordSamples(out);
    if (at - this.#lastPrune >= HOUR) {
      this.#lastPrune = at;
      await this.#d.store.pruneSamples(at - (this.#d.retentionMs ?? 48 * HOUR));
    }
    return out;
  }

  /**
   * Rebuilds the last `hours` of the series that derive from stored history
   * (migration copies, delivery latency) after a restart, so the charts have no
   * hole where serve was down. Queue depth is only known when sampled: not here.
   */
  async backfill(until: number, hours = 24): Promise<number> {
    const since = until - hours * HOUR;
    const out: SampleInput[] = [];
    // A bucket [b, b + interval) is the sample at its end, as sampleOnce writes it.
    for (const b of await this.#d.store.throughput({ since, bucketMs: this.#interval })) {
      const at = b.at + this.#interval;
      if (at > until) continue;
      out.push({ series: 'migration.messages', at, value: b.messages }, { series: 'migration.bytes', at, value: b.bytes });
    }
    const byMinute = new Map<number, number[]>();
    for (const l of await this.#d.store.deliveryLatencies(since, until)) {
      const at = Math.floor(l.at / this.#interval) * this.#interval + this.#interval;
      if (at > until) continue;
      byMinute.set(at, [...(byMinute.get(at) ?? []), l.ms]);
    }
    for (const [at, values] of byMinute) out.push(...latencySamples(at, values));
    await this.#d.store.recordSamples(out);
    return out.length;
  }

  start(): void {
    const now = this.#d.now ?? Date.now;
    const last = Math.floor(now() / this.#interval) * this.#interval;
    this.#running = this.backfill(last).catch((err: unknown) => logEvent(this.#d.log, 'console.sample.failed', { err }, undefined, this.#d.metrics));
    const tick = (): void => {
      const at = Math.floor(now() / this.#interval) * this.#interval;
      this.#running = this.#running.then(() => this.sampleOnce(at)).catch((err: unknown) =>
        logEvent(this.#d.log, 'console.sample.failed', { err }, undefined, this.#d.metrics));
      this.#timer = setTimeout(tick, this.#interval - (now() % this.#interval) + 50);
    };
    this.#timer = setTimeout(tick, this.#interval - (now() % this.#interval) + 50);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
