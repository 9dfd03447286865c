/**
 * The delivery engine. A tick picks every message with recipients due (not
 * held, not in flight), routes each recipient again (a cutover may have moved
 * it since it was accepted), groups them per destination into transactions,
 * and sends them through that destination's pool. Each answer is classified
 * (protocol/smtp classifyError: one table), and the recipients' new states are
 * written to the spool *before anything else* happens, so a restart never
 * delivers a recipient twice. Then DSNs (failed; delayed after warnAfter) and
 * tracking; a message whose recipients are all final leaves the spool.
 */
import type { Logger } from 'pino';
import { logEvent } from '../observe/index.js';
import { classifyError, xtextDecode } from '../protocol/smtp/index.js';
import { nextAttemptAt, Spool, type QueuedMessage, type RecipientState, type StateChange } from '../spool/index.js';
import { hopHeader, routeHash } from './headers.js';
import type { HoldGate } from './holds.js';
import type { GatewayMetrics } from './metrics.js';
import { makeNotice, type NoticeRecipient, type NotifyKind } from './notify.js';
import { destinationKey, type Route, type Router } from './router.js';
import type { TrackInput } from './tracking.js';
import { DestinationPool, type Destination, type SendEnvelope } from './transport.js';

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

interface Job {
  dest: Destination;
  /** spool recipient indexes and the address each is sent as */
  items: { index: number; deliverTo: string }[];
  notify?: string[];
  /** RFC 3461 ORCPT as given to us ("type;xtext"); nodemailer sends one per transaction, so it is part of the job key. */
  orcpt?: string;
}

type Outcome = { index: number; result: 'delivered' | 'deferred' | 'bounced'; reply: string; status?: string };

/** The spool keeps ORCPT as on the wire ("type;xtext"); nodemailer xtext-encodes what it is given, so it gets the decoded form. */
function decodeOrcpt(orcpt: string): string {
  const semi = orcpt.indexOf(';');
  if (semi < 0) return orcpt;
  return `${orcpt.slice(0, semi)};${xtextDecode(orcpt.slice(semi + 1)) ?? orcpt.slice(semi + 1)}`;
}

const HOLD_REFRESH_MS = 100;

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(0, 500);

export class DeliveryEngine {
  readonly #pools = new Map<string, DestinationPool>();
  readonly #inFlight = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;
  readonly #now: () => number;
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
    for (const p of this.#pools.values()) p.close();
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

  #pool(dest: Destination): DestinationPool {
    let p = this.#pools.get(dest.key);
    if (!p) {
      p = new DestinationPool(dest, this.opts.hostname);
      this.#pools.set(dest.key, p);
    }
    return p;
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
      if (outcomes.length) await this.#record(m, outcomes, undefined);
      if (jobs.size) body = await this.deps.spool.readBodyParts(m.id);
      results = await Promise.all([...jobs.values()].map(async (job) => {
        const out = await this.#send(m, job, body!);
        await this.#record(m, out, job.dest);
        return out;
      }));
    } finally {
      this.#markSending(sending, -1);
    }
    const all = [...outcomes, ...results.flat()];
    await this.#finish(m, all, body);
  }

  async #send(m: QueuedMessage, job: Job, body: readonly Buffer[]): Promise<Outcome[]> {
    const hop = hopHeader(this.deps.hopKey, this.opts.hostname, routeHash(this.deps.hopKey, job.dest.key), m.envelope.messageId ?? '', this.#now());
    const hopBytes = Buffer.from(hop, 'latin1');
    const size = body.reduce((n, b) => n + b.length, hopBytes.length);
    // Large bodies go out as [hop header, ...body] without a copy; small ones joined (cheaper than a stream).
    const data = size < 65_536 ? Buffer.concat([hopBytes, ...body], size) : [hopBytes, ...body];
    const to = [...new Set(job.items.map((i) => i.deliverTo))];
    const env: SendEnvelope = {
      from: m.envelope.from,
      to,
      size,
      use8BitMime: m.envelope.bodyType === '8bitmime',
      // RFC 3461 6.2: NOTIFY, ORCPT, RET and ENVID go on to a next hop that offers DSN (nodemailer adds them only then).
      ...(m.envelope.ret || m.envelope.envid || job.notify || job.orcpt
        ? { dsn: {
          ...(m.envelope.ret ? { ret: m.envelope.ret } : {}), ...(m.envelope.envid ? { envid: m.envelope.envid } : {}),
          ...(job.notify ? { notify: job.notify } : {}), ...(job.orcpt ? { orcpt: decodeOrcpt(job.orcpt) } : {}),
        } }
        : {}),
    };
    try {
      const res = await this.#pool(job.dest).send(env, data);
      const rejected = new Map(res.rejected.map((r) => [r.address.toLowerCase(), r.error]));
      return job.items.map(({ index, deliverTo }) => {
        const err = rejected.get(deliverTo.toLowerCase());
        if (!err) return { index, result: 'delivered' as const, reply: oneLine(res.response) };
        const c = classifyError(err, 'rcpt');
        return { index, result: c.action === 'fail' ? 'bounced' as const : 'deferred' as const, reply: oneLine(err.response ?? err.message) };
      });
    } catch (err) {
      const e = err as { rejectedErrors?: { recipient?: string; response?: string; message: string }[]; response?: string; message?: string };
      const per = new Map((e.rejectedErrors ?? []).map((r) => [String(r.recipient ?? '').toLowerCase(), r]));
      return job.items.map(({ index, deliverTo }) => {
        const specific = per.get(deliverTo.toLowerCase());
        const c = classifyError(specific ?? err);
        const reply = oneLine(specific?.response ?? e.response ?? `${e.message ?? String(err)}`);
        return { index, result: c.action === 'fail' ? 'bounced' as const : 'deferred' as const, reply };
      });
    }
  }

  /** Writes the outcomes to the spool (durable) first, then counts and tracks them. */
  async #record(m: QueuedMessage, outs: Outcome[], dest: Destination | undefined): Promise<void> {
    const now = this.#now();
    const changes: StateChange[] = outs.map((o) => {
      const prev = m.recipients[o.index]!;
      const attempts = prev.attempts + 1;
      const state: Partial<RecipientState> = { status: o.result, attempts, lastReply: o.reply, updatedAt: now, ...(dest ? { destination: dest.key } : {}) };
      if (o.result === 'deferred') {
        const next = nextAttemptAt(this.opts.retry.schedule, attempts, now);
        // The last retry falls at maxAge, so an expired message bounces on time (not a whole interval later).
        state.nextAttempt = Math.min(next, m.receivedAt + this.opts.retry.maxAge);
      }
      return { op: 'rcpt', index: o.index, state };
    });
    await this.deps.spool.update(m.id, changes);
    const label = dest?.key.replace(/^system:/, '') ?? 'none';
    for (const o of outs) {
      const address = m.envelope.recipients[o.index]!.address;
      this.deps.metrics.deliveries.inc({ destination: label, result: o.result });
      if (o.result !== 'deferred') this.deps.metrics.deliveryLatency.observe({ destination: label, result: o.result }, Math.max(0, now - m.receivedAt) / 1000);
      this.deps.track({ queueId: m.id, messageId: m.envelope.messageId, sender: m.envelope.from, recipient: address, event: o.result, destination: dest?.key, detail: o.reply });
    }
    const by = (r: Outcome['result']): string[] => outs.filter((o) => o.result === r).map((o) => m.envelope.recipients[o.index]!.address);
    const ev = { queueId: m.id, destination: dest?.key };
    if (by('delivered').length) logEvent(this.deps.log, 'gateway.delivery.delivered', { ...ev, recipients: by('delivered').length });
    if (by('deferred').length) logEvent(this.deps.log, 'gateway.delivery.deferred', { ...ev, recipients: by('deferred').length, reply: outs.find((o) => o.result === 'deferred')?.reply });
    if (by('bounced').length) logEvent(this.deps.log, 'gateway.delivery.bounced', { ...ev, recipients: by('bounced').length, reply: outs.find((o) => o.result === 'bounced')?.reply });
  }

  async #finish(m: QueuedMessage, outs: Outcome[], bodyIn: readonly Buffer[] | undefined): Promise<void> {
    const now = this.#now();
    const statusOf = new Map(outs.map((o) => [o.index, o.status]));
    const owed = (pred: (r: RecipientState) => boolean): NoticeRecipient[] => m.recipients
      .map((r, index) => ({ r, index })).filter(({ r }) => pred(r))
      .map(({ r, index }) => ({ index, ...(r.lastReply ? { reply: r.lastReply } : {}), ...(statusOf.get(index) ? { status: statusOf.get(index)! } : {}) }));
    const failed = owed((r) => r.status === 'bounced' && !r.failNotified);
    const delayed = now - m.receivedAt >= this.opts.retry.warnAfter ? owed((r) => r.status === 'deferred' && !r.delayNotified) : [];
    if (failed.length || delayed.length) {
      const body = bodyIn ? Buffer.concat(bodyIn) : await this.deps.spool.readBody(m.id);
      const marks: StateChange[] = [];
      if (failed.length) {
        await this.#notify(m, body, 'failed', failed);
        marks.push(...failed.map((d): StateChange => ({ op: 'rcpt', index: d.index, state: { failNotified: true } })));
      }
      if (delayed.length) {
        await this.#notify(m, body, 'delayed', delayed);
        marks.push(...delayed.map((d): StateChange => ({ op: 'rcpt', index: d.index, state: { delayNotified: true } })));
      }
      await this.deps.spool.update(m.id, marks);
    }
    if (m.recipients.every((r) => !Spool.pending(r))) await this.deps.spool.remove(m.id);
  }

  async #notify(m: QueuedMessage, body: Buffer, kind: NotifyKind, rcpts: NoticeRecipient[]): Promise<void> {
    const n = makeNotice({
      message: m, body, kind, recipients: rcpts, reportingMta: this.opts.hostname, now: new Date(this.#now()),
      willRetryUntil: new Date(m.receivedAt + this.opts.retry.maxAge),
    });
    if ('suppressed' in n) {
      logEvent(this.deps.log, 'gateway.dsn.suppressed', { queueId: m.id, kind, reason: n.suppressed });
      return;
    }
    const dsn = await this.deps.spool.enqueue(n.envelope, n.body);
    this.wake(dsn.id);
    this.deps.metrics.dsns.inc({ kind });
    logEvent(this.deps.log, 'gateway.dsn.queued', { queueId: m.id, dsnId: dsn.id, kind, recipients: rcpts.length });
    this.deps.track({ queueId: m.id, messageId: m.envelope.messageId, sender: m.envelope.from, recipient: m.envelope.from, event: `dsn-${kind}`, detail: `queued as ${dsn.id}` });
    this.deps.track({ queueId: dsn.id, sender: '', recipient: m.envelope.from, event: 'received', detail: `${kind} DSN for ${m.id}` });
  }
}
