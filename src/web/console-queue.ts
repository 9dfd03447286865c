/**
 * The console's Queue page API (issues 4 and 7): list with filters, one
 * message (envelope, headers from the spool file, per-recipient state,
 * tracking), and hold / release / retry / delete.
 *
 * Who changes the spool: the gateway owns it. When it runs in this process
 * (`serve`), actions go straight through applyQueueCommand on its spool and
 * wake its engine. When a gateway runs in another process (`mailbridge
 * gateway`), the console drops a control request into spool/control/ as the
 * CLI does and answers 202: that gateway applies it before its next delivery
 * scan. With no gateway at all the command is applied to the spool directly.
 */
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { MbError } from '../core/index.js';
import { applyQueueCommand, GatewayErrors, HELD_REPLY, gatewayRunning, type Gateway, type QueueCommand, type TrackInput, type TrackQuery, type TrackRow } from '../gateway/index.js';
import { Spool, SpoolErrors, type QueuedMessage } from '../spool/index.js';
import type { App, ConsoleArea, ConsoleKit } from './console-routes.js';
import { parseParams } from './console-params.js';

export interface QueueAreaDeps {
  /** gateway.spool */
  spoolDir: string;
  /** The gateway when it runs in this process and has started (serve starts it after the web server). */
  gateway?: () => Gateway | undefined;
  /** This process runs the gateway: until it has started, the queue answers 503 instead of touching its spool. */
  gatewayInProcess?: boolean;
  /** Tracking: the events of one message, and where the console records its actions. */
  tracking?: { search(q: TrackQuery): Promise<TrackRow[]>; track(e: TrackInput): void };
  now?: () => number;
}

export type QueueMode = 'in-process' | 'control' | 'direct';

/**
 * The message-level state the list shows and filters on, the first that fits:
 * held by an administrator; a recipient kept back by a cutover hold (issue 8);
 * a failed attempt; never tried yet; nothing pending (a DSN still to write).
 */
export type MessageState = 'held' | 'cutover' | 'deferred' | 'queued' | 'finishing';
export const MESSAGE_STATES: readonly MessageState[] = ['held', 'cutover', 'deferred', 'queued', 'finishing'];

const cutoverHeld = (r: QueuedMessage['recipients'][number]): boolean => Spool.pending(r) && r.lastReply === HELD_REPLY;

export class QueueUnavailable extends Error {}

export function messageState(m: QueuedMessage): MessageState {
  if (m.held) return 'held';
  const pending = m.recipients.filter((r) => Spool.pending(r));
  if (pending.some(cutoverHeld)) return 'cutover';
  if (pending.some((r) => r.status === 'deferred' || r.attempts > 0)) return 'deferred';
  return pending.length > 0 ? 'queued' : 'finishing';
}

export interface HeaderField { name: string; value: string }

/** The header section of a message (up to the first empty line), unfolded (RFC 5322 2.2.3). */
export function parseHeaderSection(body: Buffer, maxBytes = 256 * 1024, maxFields = 500): { fields: HeaderField[]; truncated: boolean } {
  const head = body.subarray(0, maxBytes);
  const text = head.toString('utf8');
  const end = /\r?\n\r?\n/.exec(text);
  const section = end ? text.slice(0, end.index) : text;
  let truncated = !end && body.length > maxBytes;
  const fields: HeaderField[] = [];
  for (const line of section.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      fields[fields.length - 1]!.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    if (fields.length >= maxFields) { truncated = true; break; }
    fields.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  for (const f of fields) if (f.value.length > 4000) { f.value = `${f.value.slice(0, 4000)}…`; truncated = true; }
  return { fields, truncated };
}

function summary(m: QueuedMessage, now: number): Record<string, unknown> {
  return {
    id: m.id, receivedAt: m.receivedAt, ageMs: Math.max(0, now - m.receivedAt), size: m.size, from: m.envelope.from,
    messageId: m.envelope.messageId ?? null, held: m.held, state: messageState(m),
    recipients: m.envelope.recipients.map((r, i) => {
      const s = m.recipients[i]!;
      return {
        address: r.address, status: s.status, destination: s.destination ?? null, lastReply: s.lastReply ?? null,
        attempts: s.attempts, nextAttempt: Spool.pending(s) ? s.nextAttempt : null, updatedAt: s.updatedAt, cutoverHold: cutoverHeld(s),
      };
    }),
  };
}

export function trackRowJson(r: TrackRow): Record<string, unknown> {
  return {
    at: Number(r.at), queueId: r.queue_id, messageId: r.message_id, sender: r.sender, recipient: r.recipient,
    event: r.event, destination: r.destination, detail: r.detail, node: r.node,
  };
}

export interface QueueFilter { destination?: string; state?: string; olderThan?: number; recipient?: string }

/** Reads and steers the gateway queue for the console, whichever process owns the spool. */
export class QueueAccess {
  #snapshot: { at: number; spool: Spool } | undefined;
  readonly #now: () => number;

  constructor(readonly deps: QueueAreaDeps) {
    this.#now = deps.now ?? Date.now;
  }

  get tracking(): QueueAreaDeps['tracking'] { return this.deps.tracking; }

  mode(): QueueMode {
    if (this.deps.gateway?.()) return 'in-process';
    if (this.deps.gatewayInProcess) throw new QueueUnavailable('the gateway is starting');
    return gatewayRunning(this.deps.spoolDir) ? 'control' : 'direct';
  }

  /** The spool to read: the gateway's own, or a read-only copy loaded at most once a second. */
  async #reader(fresh = false): Promise<Spool> {
    const gw = this.deps.gateway?.();
    if (gw) return gw.spool;
    this.mode();
    const now = this.#now();
    if (fresh || !this.#snapshot || now - this.#snapshot.at > 1000) {
      this.#snapshot = { at: now, spool: (await Spool.open(this.deps.spoolDir, { readonly: true })).spool };
    }
    return this.#snapshot.spool;
  }

  async list(): Promise<QueuedMessage[]> {
    return (await this.#reader()).list();
  }

  async has(id: string): Promise<boolean> {
    return (await this.#reader()).get(id) !== undefined;
  }

  async get(id: string): Promise<{ message: QueuedMessage; headers: { fields: HeaderField[]; truncated: boolean } } | undefined> {
    const spool = await this.#reader();
    const message = spool.get(id);
    if (!message) return undefined;
    try {
      return { message, headers: parseHeaderSection(await spool.readBody(id)) };
    } catch (err) {
      // Delivered and removed between the list and the read.
      if (err instanceof MbError && err.code === SpoolErrors.SPOOL_NOT_FOUND) return undefined;
      throw err;
    }
  }

  filter(list: QueuedMessage[], f: QueueFilter): QueuedMessage[] {
    const now = this.#now();
    const dest = f.destination === undefined ? undefined : f.destination === 'external' || f.destination.includes(':') ? f.destination : `system:${f.destination}`;
    const rcpt = f.recipient?.toLowerCase();
    return list.filter((m) => {
      if (f.state !== undefined && messageState(m) !== f.state) return false;
      if (f.olderThan !== undefined && now - m.receivedAt < f.olderThan) return false;
      if (dest !== undefined && !m.recipients.some((r) => r.destination === dest)) return false;
      if (rcpt && !m.envelope.recipients.some((r) => r.address.toLowerCase().includes(rcpt))) return false;
      return true;
    }).sort((a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : 1));
  }

  /**
   * One action on one message. Answers the ids touched and whether it is done
   * (`applied`) or requested from a gateway in another process.
   */
  async apply(cmd: QueueCommand & { id: string }): Promise<{ mode: QueueMode; applied: boolean; ids: string[] }> {
    const mode = this.mode();
    if (mode === 'control') {
      const spool = await this.#reader(true);
      if (!spool.get(cmd.id)) throw new MbError(GatewayErrors.GATEWAY_QUEUE_NOT_FOUND, `no message ${cmd.id} in the queue`);
      await spool.writeControl(cmd);
      return { mode, applied: false, ids: [cmd.id] };
    }
    const gw = this.deps.gateway?.();
    const spool = gw ? gw.spool : (await Spool.open(this.deps.spoolDir)).spool;
    const before = spool.get(cmd.id);
    const r = await applyQueueCommand(spool, cmd, (id, event) => {
      // Tracked with the envelope read before the command: a deleted message is gone from the spool by now.
      const m = id === cmd.id ? before : spool.get(id);
      this.deps.tracking?.track({ queueId: id, messageId: m?.envelope.messageId, sender: m?.envelope.from ?? '', event, detail: 'from the console' });
    }, this.#now);
    gw?.engine.wake();
    this.#snapshot = undefined;
    return { mode, applied: true, ids: r.ids };
  }
}

const LIST_PARAMS = {
  destination: { kind: 'text', max: 200 },
  state: { kind: 'enum', values: MESSAGE_STATES },
  olderThan: { kind: 'duration' },
  recipient: { kind: 'text', max: 320 },
  limit: { kind: 'int', min: 1, max: 500 },
  offset: { kind: 'int', min: 0, max: 10_000_000 },
} as const;

const OPS = ['hold', 'release', 'retry', 'delete'] as const;

function unavailable(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof QueueUnavailable) return reply.code(503).header('retry-after', '5').send({ error: err.message });
  throw err;
}

/** GET /api/queue, GET /api/queue/:id, POST /api/queue/:id/{hold,release,retry,delete}. */
export function queueArea(access: QueueAccess): ConsoleArea {
  const now = access.deps.now ?? Date.now;
  return <L extends FastifyBaseLogger>(app: App<L>, kit: ConsoleKit): void => {
    app.get('/api/queue', async (req, reply) => {
      const p = parseParams(req.query, LIST_PARAMS);
      if (!p.ok) return reply.code(400).send({ error: p.error });
      const { limit = 100, offset = 0, ...filter } = p.value;
      try {
        const all = await access.list();
        const hits = access.filter(all, filter);
        const t = now();
        const destinations = [...new Set(all.flatMap((m) => m.recipients.flatMap((r) => (r.destination ? [r.destination] : []))))].sort();
        return {
          mode: access.mode(), total: hits.length, queued: all.length, offset, limit, destinations,
          messages: hits.slice(offset, offset + limit).map((m) => summary(m, t)),
        };
      } catch (err) {
        return unavailable(reply, err);
      }
    });

    app.get<{ Params: { id: string } }>('/api/queue/:id', async (req, reply) => {
      const { id } = req.params;
      try {
        const found = await access.get(id);
        if (!found) return reply.code(404).send({ error: `no message ${id.slice(0, 40)} in the queue` });
        const { message: m, headers } = found;
        const events = access.tracking ? (await access.tracking.search({ queueId: id, limit: 500 })).map(trackRowJson) : [];
        return {
          mode: access.mode(),
          message: {
            ...summary(m, now()),
            envelope: {
              from: m.envelope.from, recipients: m.envelope.recipients, ret: m.envelope.ret ?? null, envid: m.envelope.envid ?? null,
              bodyType: m.envelope.bodyType ?? null, smtputf8: m.envelope.smtputf8 === true, source: m.envelope.source, isDsn: m.envelope.isDsn === true,
            },
          },
          headers: headers.fields, headersTruncated: headers.truncated, events,
        };
      } catch (err) {
        return unavailable(reply, err);
      }
    });

    for (const op of OPS) {
      app.post<{ Params: { id: string }; Body: unknown }>(`/api/queue/:id/${op}`, { bodyLimit: 1024 }, async (req, reply) => {
        const { id } = req.params;
        const body = (req.body ?? {}) as Record<string, unknown>;
        if (typeof body !== 'object' || Array.isArray(body)) return reply.code(400).send({ error: 'the body must be a JSON object' });
        const extra = Object.keys(body).filter((k) => !(op === 'delete' && k === 'bounce'));
        if (extra.length) return reply.code(400).send({ error: `unknown field ${extra[0]!.slice(0, 40)}${op === 'delete' ? ' (known: bounce)' : ` (${op} takes no options)`}` });
        if (body.bounce !== undefined && typeof body.bounce !== 'boolean') return reply.code(400).send({ error: 'bounce: must be true or false' });
        const bounce = body.bounce === true;
        try {
          const r = await access.apply({ op, id, ...(bounce ? { bounce } : {}) });
          await kit.audit(req, `queue.${op}`, { ...(bounce ? { bounce } : {}), mode: r.mode, applied: r.applied }, id);
          return reply.code(r.applied ? 200 : 202).send({ ok: true, op, ...r });
        } catch (err) {
          if (err instanceof MbError && (err.code === GatewayErrors.GATEWAY_QUEUE_NOT_FOUND || err.code === SpoolErrors.SPOOL_NOT_FOUND)) {
            return reply.code(404).send({ error: `no message ${id.slice(0, 40)} in the queue` });
          }
          return unavailable(reply, err);
        }
      });
    }
  };
}
