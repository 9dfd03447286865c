/**
 * The delivery engine. A tick picks every message with recipients due (not
 * held, not in flight), routes each recipient again (a cutover may have moved
 * it since it was accepted), groups them per destination into transactions,
 * and sends them through that destination's pool (delivery-transaction.ts).
 * The recipients' new states are written to the spool before anything else,
 * then DSNs and tracking (delivery-outcomes.ts). This file holds the scheduling:
 * which messages are due, the in-flight limit, and cutover holds.
 */
import type { Logger } from 'pino';
import { logEvent } from '../observe/index.js';
import { Spool, type QueuedMessage, type StateChange } from '../spool/index.js';
import { DeliveryOutcomes, oneLine, type Outcome } from './delivery-outcomes.js';
import { DeliveryTransport, type Job } from './delivery-transaction.js';
import type { HoldGate } from './holds.js';
import type { GatewayMetrics } from './metrics.js';
import { destinationKey, type Route, type Router } from './router.js';
import type { TrackInput } from './tracking.js';
import type { Destination } from './transport.js';

export interface DeliveryOptions {
  hostname: string;
  retry: { schedule: readonly number[]; maxAge: number; warnAfter: number };
  /** The endpoint of a destination key, or undefined when none is configured. */
  destinations: (key: string) => Destination | undefined;
  /** How often the queue is scanned when nothing wakes it (ms). */
  tickMs?: number;
  /** At most this many messages in flight at once. */
  maxInFlight?: number;
  now?: () => number;
}

export interface DeliveryDeps {
  spool: Spool;
  router: Router;
  log: Logger;
  metrics: GatewayMetrics;
  hopKey: Buffer;
  track: (e: TrackInput) => void;
  /** Applies queue control requests before each scan (control.ts). */
  beforeTick?: () => Promise<void>;
  /** Cutover holds (holds.ts): recipients of a held address stay queued; the others go out. */
  holds?: HoldGate;
}

/** lastReply of a recipient kept queued by a cutover hold. */
export const HELD_REPLY = 'held for cutover';

const HOLD_REFRESH_MS = 100;

export class DeliveryEngine {
  readonly #inFlight = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;
  readonly #now: () => number;
  readonly #transport: DeliveryTransport;
  readonly #outcomes: DeliveryOutcomes;
  readonly #tasks = new Set<Promise<void>>();
  /** Recipient addresses (lower case) with a delivery in flight, for the hold acknowledgement. */
  readonly #sending = new Map<string, number>();
  /** Messages queued since the last tick: taken without scanning the whole queue. */
  readonly #fresh = new Set<string>();
  /** The next tick scans the whole queue (start, queue commands, in-flight limit reached). */
  #fullScan = true;
  #lastFullScan = -Infinity;
  #lastHoldRefresh = -Infinity;

  constructor(private readonly opts: DeliveryOptions, private readonly deps: DeliveryDeps) {
    this.#now = opts.now ?? Date.now;
    this.#transport = new DeliveryTransport(opts, deps, this.#now);
    this.#outcomes = new DeliveryOutcomes(opts, deps, this.#now, (id) => this.wake(id));
  }

  start(): void {
    this.#stopped = false;
    this.wake();
  }

  /**
   * Work now. With the id of a message just queued, only that message is
   * looked at (a whole-queue scan per arriving message cost O(queue) each:
   * with a backlog of 50,000 held by a dead backend, that was most of the CPU);
   * without, the whole queue is scanned (a command changed it). Retries are
   * found by the scan every tickMs.
   */
  wake(id?: string): void {
    if (this.#stopped) return;
    if (id === undefined) this.#fullScan = true;
    else this.#fresh.add(id);
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.allSettled([...this.#tasks]);
    this.#transport.close();
  }

  /** Resolves when nothing is in flight (tests, queue flush). */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    this.#running = true;
    try {
      if (this.deps.beforeTick) await this.deps.beforeTick();
      const now = this.#now();
      const full = this.#fullScan || now - this.#lastFullScan >= (this.opts.tickMs ?? 1000);
      // Hold changes are read on every full scan and at most every 100 ms in between: a cutover
      // waits for our acknowledgement, which is only given after a refresh with nothing held in flight.
      if (this.deps.holds && (full || now - this.#lastHoldRefresh >= HOLD_REFRESH_MS)) {
        this.#lastHoldRefresh = now;
        await this.deps.holds.refresh((held) => [...this.#sending.keys()].some(held));
      }
      const max = this.opts.maxInFlight ?? 200;
      let candidates: Iterable<QueuedMessage>;
      if (full) {
        this.#fullScan = false;
        this.#lastFullScan = now;
        this.#fresh.clear();
        candidates = this.deps.spool.list();
      } else {
        const ids = [...this.#fresh];
        this.#fresh.clear();
        candidates = ids.flatMap((id) => this.deps.spool.get(id) ?? []);
      }
      for (const m of candidates) {
        if (this.#inFlight.size >= max) {
          // The rest waits for a free slot: a whole scan when one frees up.
          this.#fullScan = true;
          break;
        }
        if (m.held || this.#inFlight.has(m.id)) continue;
        if (!this.#needsWork(m, now)) continue;
        this.#inFlight.add(m.id);
        const task = this.#process(m).catch((err: unknown) => logEvent(this.deps.log, 'service.crashed', { err, queueId: m.id, job: 'delivery' }))
          .finally(() => {
            this.#inFlight.delete(m.id);
            this.#tasks.delete(task);
            // Only when the in-flight limit left work behind; a retry waits for its time.
            if (this.#fullScan) this.wake();
          });
        this.#tasks.add(task);
      }
      this.deps.metrics.queueMessages.set(this.deps.spool.size);
    } catch (err) {
      logEvent(this.deps.log, 'service.crashed', { err, job: 'delivery-scan' });
    } finally {
      this.#running = false;
      if (!this.#stopped) {
        const delay = this.#again ? 0 : this.opts.tickMs ?? 1000;
        this.#again = false;
        this.#timer = setTimeout(() => void this.#tick(), delay);
        this.#timer.unref();
      }
    }
  }

  /** Recipients due, or notices owed (a crash may have fallen between a bounce and its DSN). */
  #needsWork(m: QueuedMessage, now: number): boolean {
    const warn = now - m.receivedAt >= this.opts.retry.warnAfter;
    return m.recipients.some((r, i) => (Spool.pending(r) && r.nextAttempt <= now && (!this.#held(m, i) || r.lastReply !== HELD_REPLY)) || (r.status === 'bounced' && !r.failNotified) ||
      (warn && r.status === 'deferred' && !r.delayNotified));
  }

  #held(m: QueuedMessage, index: number): boolean {
    return this.deps.holds?.isHeld(m.envelope.recipients[index]!.address) === true;
  }

  /** Recipients kept queued by a cutover hold: 'held' tracked once (their lastReply says so), no attempt counted. */
  async #holdBack(m: QueuedMessage, indexes: number[]): Promise<void> {
    const fresh = indexes.filter((i) => m.recipients[i]!.lastReply !== HELD_REPLY);
    if (fresh.length === 0) return;
    const now = this.#now();
    await this.deps.spool.update(m.id, fresh.map((index): StateChange => ({ op: 'rcpt', index, state: { lastReply: HELD_REPLY, updatedAt: now } })));
    for (const i of fresh) {
      this.deps.track({ queueId: m.id, messageId: m.envelope.messageId, sender: m.envelope.from, recipient: m.envelope.recipients[i]!.address, event: 'held', detail: HELD_REPLY });
    }
  }

  #markSending(addresses: string[], delta: 1 | -1): void {
    for (const a of addresses) {
      const k = a.toLowerCase();
      const n = (this.#sending.get(k) ?? 0) + delta;
      if (n > 0) this.#sending.set(k, n);
      else this.#sending.delete(k);
    }
  }

  async #process(m: QueuedMessage): Promise<void> {
    const now = this.#now();
    const dueAll = m.recipients.map((r, index) => ({ r, index })).filter(({ r }) => Spool.pending(r) && r.nextAttempt <= now);
    const due = dueAll.filter(({ index }) => !this.#held(m, index));
    const heldBack = dueAll.filter(({ index }) => this.#held(m, index)).map(({ index }) => index);
    const outcomes: Outcome[] = [];
    const jobs = new Map<string, Job>();
    const expired = now - m.receivedAt >= this.opts.retry.maxAge;
    for (const { index } of due) {
      const address = m.envelope.recipients[index]!.address;
      if (expired) {
        outcomes.push({ index, result: 'bounced', reply: m.recipients[index]!.lastReply ?? 'delivery time expired', status: '5.4.7' });
        continue;
      }
      let route: Route;
      try {
        route = await this.deps.router.route(address);
      } catch (err) {
        outcomes.push({ index, result: 'deferred', reply: `directory unavailable: ${oneLine(String((err as Error).message))}` });
        continue;
      }
      const key = destinationKey(route);
      const dest = key ? this.opts.destinations(key) : undefined;
      if (route.kind === 'unknown') {
        outcomes.push({ index, result: 'bounced', reply: '550 5.1.1 Recipient address rejected: User unknown', status: '5.1.1' });
      } else if (!dest) {
        outcomes.push({ index, result: 'deferred', reply: `no endpoint configured for ${key ?? 'route'}` });
      } else if (dest.maxMessageSize !== undefined && m.size > dest.maxMessageSize) {
        outcomes.push({ index, result: 'bounced', reply: `552 5.3.4 Message too big for ${key} (limit ${dest.maxMessageSize} bytes)`, status: '5.3.4' });
      } else {
        const { notify, orcpt } = m.envelope.recipients[index]!;
        const jk = `${dest.key}|${(notify ?? []).join(',')}|${orcpt ?? ''}`;
        const job = jobs.get(jk) ?? { dest, items: [], ...(notify ? { notify } : {}), ...(orcpt ? { orcpt } : {}) };
        job.items.push({ index, deliverTo: route.deliverTo });
        jobs.set(jk, job);
      }
    }
    // A hold may have been loaded while routing: checked again, and the rest marked in flight, with no await in between.
    for (const [k, job] of jobs) {
      heldBack.push(...job.items.filter((i) => this.#held(m, i.index)).map((i) => i.index));
      job.items = job.items.filter((i) => !this.#held(m, i.index));
      if (job.items.length === 0) jobs.delete(k);
    }
    const sending = [...jobs.values()].flatMap((j) => j.items.map((i) => m.envelope.recipients[i.index]!.address));
    this.#markSending(sending, 1);
    let results: Outcome[][];
    let body: readonly Buffer[] | undefined;
    try {
      if (heldBack.length) await this.#holdBack(m, heldBack);
      if (outcomes.length) await this.#outcomes.record(m, outcomes, undefined);
      if (jobs.size) body = await this.deps.spool.readBodyParts(m.id);
      results = await Promise.all([...jobs.values()].map(async (job) => {
        const out = await this.#transport.send(m, job, body!);
        await this.#outcomes.record(m, out, job.dest);
        return out;
      }));
    } finally {
      this.#markSending(sending, -1);
    }
    const all = [...outcomes, ...results.flat()];
    await this.#outcomes.finish(m, all, body);
  }
}
