/**
 * Message tracking: every event of a message into the store's
 * gateway_tracking table, searched by `mailbridge track`. Writes are batched
 * and off the durability path: the spool, not this table, decides what is
 * delivered; a store hiccup loses tracking lines (logged), never mail.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { logEvent } from '../observe/index.js';
import type { GatewayTrackingTable, Store } from '../store/index.js';
import { bulkInsert, type BulkColumn } from '../store/index.js';

export interface TrackInput {
  queueId: string;
  messageId?: string | undefined;
  sender: string;
  recipient?: string | undefined;
  event: string;
  destination?: string | undefined;
  detail?: string | undefined;
}

export interface TrackQuery {
  messageId?: string;
  queueId?: string;
  from?: string;
  to?: string;
  /** epoch ms */
  since?: number;
  /** epoch ms (inclusive) */
  until?: number;
  limit?: number;
}

export type TrackRow = GatewayTrackingTable;

const TRACK_COLUMNS: BulkColumn[] = [
  { name: 'id', type: 'text' }, { name: 'at', type: 'bigint' }, { name: 'node', type: 'text' }, { name: 'queue_id', type: 'text' },
  { name: 'message_id', type: 'text' }, { name: 'sender', type: 'text' }, { name: 'recipient', type: 'text' }, { name: 'event', type: 'text' },
  { name: 'destination', type: 'text' }, { name: 'detail', type: 'text' },
];
const ID_PREFIX = randomBytes(6).toString('hex');
let idCounter = 0;

const stripBrackets = (s: string): string => s.trim().replace(/^<(.*)>$/, '$1');

export class Tracker {
  #buffer: TrackRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<Store, 'db'>,
    private readonly node: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  track(e: TrackInput): void {
    this.#buffer.push({
      // Unique across nodes and restarts: this process's random prefix and a counter (randomBytes per event was 3% of the gateway's CPU).
      id: `${this.now().toString(36)}${ID_PREFIX}${(idCounter++).toString(36)}`,
      at: this.now(),
      node: this.node,
      queue_id: e.queueId,
      message_id: e.messageId ? stripBrackets(e.messageId) : null,
      sender: e.sender.toLowerCase(),
      recipient: e.recipient ? e.recipient.toLowerCase() : null,
      event: e.event,
      destination: e.destination ?? null,
      detail: e.detail ? e.detail.slice(0, 1000) : null,
    });
    if (this.#buffer.length >= 200) void this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), 200);
      this.#timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const rows = this.#buffer;
    this.#buffer = [];
    if (rows.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(async () => {
      try {
        await bulkInsert(this.store.db, 'gateway_tracking', TRACK_COLUMNS, rows.map((r) => TRACK_COLUMNS.map((c) => r[c.name as keyof TrackRow])));
      } catch (err) {
        logEvent(this.log, 'gateway.tracking.failed', { err, rows: rows.length });
      }
    });
    return this.#flushing;
  }

  /** Drops events older than the retention (gateway.trackingRetention). */
  async prune(retentionMs: number): Promise<number> {
    const r = await this.store.db.deleteFrom('gateway_tracking').where('at', '<', this.now() - retentionMs).executeTakeFirst();
    return Number(r.numDeletedRows ?? 0);
  }
}

/** The search behind `mailbridge track`: all given criteria must match; newest last. */
export async function searchTracking(store: Pick<Store, 'db'>, q: TrackQuery): Promise<TrackRow[]> {
  let query = store.db.selectFrom('gateway_tracking').selectAll();
  if (q.messageId) query = query.where('message_id', '=', stripBrackets(q.messageId));
  if (q.queueId) query = query.where('queue_id', '=', q.queueId);
  if (q.from !== undefined) query = query.where('sender', '=', stripBrackets(q.from).toLowerCase());
  if (q.to) query = query.where('recipient', '=', stripBrackets(q.to).toLowerCase());
  if (q.since !== undefined) query = query.where('at', '>=', q.since);
  if (q.until !== undefined) query = query.where('at', '<=', q.until);
  const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(q.limit ?? 1000).execute();
  return rows.reverse();
}
