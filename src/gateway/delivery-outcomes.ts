/**
 * What a delivery attempt leaves behind, per recipient. The new states are
 * written to the spool *before anything else* (a deferred recipient gets its
 * next attempt from the retry schedule, capped at maxAge), so a restart never
 * delivers a recipient twice; then they are counted, tracked and logged.
 * Afterwards the DSN decisions: a failed notice for bounced recipients and a
 * delayed one for recipients still deferred after warnAfter, each owed once
 * (a crash may fall between a bounce and its DSN, so they are marked after
 * queueing); a message whose recipients are all final leaves the spool.
 */
import { logEvent } from '../observe/index.js';
import { nextAttemptAt, Spool, type QueuedMessage, type RecipientState, type StateChange } from '../spool/index.js';
import type { DeliveryDeps, DeliveryOptions } from './delivery.js';
import { makeNotice, type NoticeRecipient, type NotifyKind } from './notify.js';
import type { Destination } from './transport.js';

export type Outcome = { index: number; result: 'delivered' | 'deferred' | 'bounced'; reply: string; status?: string };

export const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(0, 500);

export class DeliveryOutcomes {
  constructor(
    private readonly opts: Pick<DeliveryOptions, 'hostname' | 'retry'>,
    private readonly deps: Pick<DeliveryDeps, 'spool' | 'log' | 'metrics' | 'track'>,
    private readonly now: () => number,
    /** Hands a queued DSN to the engine. */
    private readonly wake: (id: string) => void,
  ) {}

  /** Writes the outcomes to the spool (durable) first, then counts and tracks them. */
  async record(m: QueuedMessage, outs: Outcome[], dest: Destination | undefined): Promise<void> {
    const now = this.now();
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
    const ev = { queueId: m.id, destination: dest?.key };
    for (const result of ['delivered', 'deferred', 'bounced'] as const) {
      const these = outs.filter((o) => o.result === result);
      if (these.length === 0) continue;
      logEvent(this.deps.log, `gateway.delivery.${result}`, { ...ev, recipients: these.length, ...(result === 'delivered' ? {} : { reply: these[0]!.reply }) });
    }
  }

  /** DSNs owed (failed; delayed after warnAfter), then the message leaves the spool once every recipient is final. */
  async finish(m: QueuedMessage, outs: Outcome[], bodyIn: readonly Buffer[] | undefined): Promise<void> {
    const now = this.now();
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
      message: m, body, kind, recipients: rcpts, reportingMta: this.opts.hostname, now: new Date(this.now()),
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
