/**
 * Waves (migration.waves): a named group of users switched together, now
 * (`migrate cutover --wave NAME`) or by serve at the wave's time, after a
 * pre-cutover delta pass `preDelta` earlier so the final pass under the hold
 * is short. Each executed wave is one cutover_waves row (claimed by exactly one
 * node through its unique (name, due time)), carrying its report.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { WaveConfig } from '../config/index.js';
import { MbError, parseCsvRecords } from '../core/index.js';
import { logEvent } from '../observe/index.js';
import type { Store, WaveRun } from '../store/index.js';
import { CutoverErrors } from './errors.js';
import type { CutoverResult } from './steps.js';

export interface WaveReport {
  wave: string;
  dueAt: string | null;
  users: number;
  done: string[];
  refused: { address: string; reason: string }[];
  failed: { address: string; step: string; reason: string; status: string }[];
  /** Recipients held back by the gateway during the holds, all released (to the new system, or to the old on failure). */
  heldMessages: number;
  heldMs: { max: number; avg: number; total: number };
  noLiveGateway: boolean;
  preDelta?: { at: string; ok: number; failed: number };
  startedAt: string;
  finishedAt: string;
}

export function waveReport(wave: string, dueAt: number | null, results: readonly CutoverResult[], started: number, finished: number): WaveReport {
  const held = results.map((r) => r.heldMs).filter((x): x is number => x !== null);
  const total = held.reduce((a, b) => a + b, 0);
  return {
    wave, dueAt: dueAt === null ? null : new Date(dueAt).toISOString(), users: results.length,
    done: results.filter((r) => r.status === 'done').map((r) => r.address),
    refused: results.filter((r) => r.status === 'refused').map((r) => ({ address: r.address, reason: r.error ?? '' })),
    failed: results.filter((r) => r.status === 'rolled-back' || r.status === 'failed')
      .map((r) => ({ address: r.address, step: r.failedStep ?? '', reason: r.error ?? '', status: r.status })),
    heldMessages: results.reduce((n, r) => n + r.heldMessages, 0),
    heldMs: { max: held.length ? Math.max(...held) : 0, avg: held.length ? Math.round(total / held.length) : 0, total },
    noLiveGateway: results.some((r) => r.gateway.noneLive),
    startedAt: new Date(started).toISOString(), finishedAt: new Date(finished).toISOString(),
  };
}

/** The wave's users (lower case), from its list, a column of a CSV file, or a directory attribute. */
export async function waveUsers(wave: WaveConfig, store: Pick<Store, 'users'>, defaultCsv?: string): Promise<string[]> {
  const want = (v: string | undefined): string => (v ?? wave.name).trim().toLowerCase();
  if (wave.users) return [...new Set(wave.users.map((u) => u.toLowerCase()))];
  if (wave.csvColumn) {
    const file = wave.csvColumn.file ?? defaultCsv;
    if (!file) throw new MbError(CutoverErrors.CUTOVER_WAVE_UNKNOWN, `wave ${wave.name}: csvColumn needs a file (or migration.users)`);
    const parsed = parseCsvRecords(await readFile(file, 'utf8'));
    if (!parsed.ok) throw new MbError(CutoverErrors.CUTOVER_WAVE_UNKNOWN, `${file}:${parsed.line}: ${parsed.reason}`);
    const [head, ...rows] = parsed.records;
    const col = head?.fields.findIndex((f) => f.trim().toLowerCase() === wave.csvColumn!.column.toLowerCase()) ?? -1;
    const addr = head?.fields.findIndex((f) => f.trim().toLowerCase() === 'address') ?? -1;
    if (col < 0) throw new MbError(CutoverErrors.CUTOVER_WAVE_UNKNOWN, `${file}: no column ${JSON.stringify(wave.csvColumn.column)} in the header row`);
    const value = want(wave.csvColumn.value);
    return rows.filter((r) => (r.fields[col] ?? '').trim().toLowerCase() === value).map((r) => (r.fields[Math.max(addr, 0)] ?? '').trim().toLowerCase()).filter(Boolean);
  }
  if (wave.attribute) {
    const value = want(wave.attribute.value);
    const out: string[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await store.users.list({ limit: 1000, offset });
      for (const u of page) {
        const v = u.attributes[wave.attribute.name];
        const values = Array.isArray(v) ? v : [v];
        if (values.some((x) => typeof x === 'string' && x.trim().toLowerCase() === value)) out.push(u.address);
      }
      if (page.length < 1000) return out;
    }
  }
  throw new MbError(CutoverErrors.CUTOVER_WAVE_UNKNOWN, `wave ${wave.name}: give users, csvColumn or attribute`);
}

export interface WaveSchedulerDeps {
  store: Pick<Store, 'cutover'>;
  waves: readonly WaveConfig[];
  log: Logger;
  resolveUsers: (wave: WaveConfig) => Promise<string[]>;
  /** The pre-cutover delta pass of these users: how many passed and failed. */
  preDelta: (users: string[]) => Promise<{ ok: number; failed: number }>;
  cutover: (users: string[], wave: string) => Promise<CutoverResult[]>;
  now?: () => number;
  /** How often due waves are looked for (30 s). */
  intervalMs?: number;
  /** A wave more overdue than this (serve was down at its time) is not run but logged (24 h). */
  maxLateMs?: number;
}

/** serve's wave scheduler: pre-delta passes and cutovers of due waves, one node per wave run. */
export class WaveScheduler {
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly #now: () => number;

  constructor(private readonly d: WaveSchedulerDeps) {
    this.#now = d.now ?? Date.now;
  }

  start(): void {
    const tick = (): void => {
      this.#busy = this.#busy.then(async () => { await this.runDue(); }).catch((err: unknown) => logEvent(this.d.log, 'service.crashed', { err, job: 'cutover-waves' }));
      if (!this.#stopped) {
        this.#timer = setTimeout(tick, this.#nextDelay());
        this.#timer.unref();
      }
    };
    tick();
  }

  /** Until the next wave threshold (its pre-delta time or its time), at most intervalMs, at least 1 s. */
  #nextDelay(): number {
    const now = this.#now();
    const upcoming = this.d.waves.flatMap((w) => (w.at === undefined ? [] : [w.at - w.preDelta, w.at])).filter((x) => x > now);
    const soonest = upcoming.length ? Math.min(...upcoming) - now : Infinity;
    return Math.max(1000, Math.min(this.d.intervalMs ?? 30_000, soonest));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#busy;
  }

  /** One look at every scheduled wave; returns the reports of waves cut over now. */
  async runDue(): Promise<WaveReport[]> {
    const out: WaveReport[] = [];
    for (const w of this.d.waves) {
      if (this.#stopped || w.at === undefined) continue;
      const now = this.#now();
      if (now < w.at - w.preDelta) continue;
      if (now - w.at > (this.d.maxLateMs ?? 86_400_000)) continue;
      const r = await this.#step(w, w.at);
      if (r) out.push(r);
    }
    return out;
  }

  async #step(w: WaveConfig, at: number): Promise<WaveReport | undefined> {
    const { wave: run, created } = await this.d.store.cutover.claimWave(w.name, at);
    let current: WaveRun = run;
    if (created) {
      const users = await this.d.resolveUsers(w);
      logEvent(this.d.log, 'cutover.wave.started', { wave: w.name, phase: 'pre-delta', users: users.length });
      const r = await this.d.preDelta(users);
      await this.d.store.cutover.advanceWave(run.id, 'pre-delta', { preDeltaAt: this.#now(), report: { preDelta: { at: new Date(this.#now()).toISOString(), ...r } } });
      current = { ...run, preDeltaAt: this.#now(), report: { preDelta: r } };
    }
    if (current.status !== 'pre-delta' || this.#now() < at) return undefined;
    // Exactly one node moves it to running (the conditional UPDATE), so a wave is cut over once.
    const started = this.#now();
    if (!(await this.d.store.cutover.advanceWave(current.id, 'pre-delta', { status: 'running', startedAt: started }))) return undefined;
    const users = await this.d.resolveUsers(w);
    logEvent(this.d.log, 'cutover.wave.started', { wave: w.name, phase: 'cutover', users: users.length });
    const results = await this.d.cutover(users, w.name);
    const report = { ...waveReport(w.name, at, results, started, this.#now()),
      ...(current.report.preDelta ? { preDelta: current.report.preDelta as WaveReport['preDelta'] } : {}) };
    const ok = report.failed.length === 0 && report.refused.length === 0;
    await this.d.store.cutover.advanceWave(current.id, 'running', { status: ok ? 'done' : 'failed', finishedAt: this.#now(), report: report as unknown as Record<string, unknown> });
    logEvent(this.d.log, 'cutover.wave.finished', { wave: w.name, users: report.users, done: report.done.length, failed: report.failed.length,
      refused: report.refused.length, heldMessages: report.heldMessages, heldMsMax: report.heldMs.max });
    return report;
  }
}
