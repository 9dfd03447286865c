/**
 * The console's Tracking page API: GET /api/tracking searches the gateway's
 * tracking events (the store's gateway_tracking table, through the search the
 * composition root hands over) by Message-ID, queue id, sender, recipient and
 * time. Each row says whether its message is still in the queue, so the page
 * can link to the queue detail.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { TrackQuery, TrackRow } from '../gateway/index.js';
import type { App, ConsoleArea } from './console-routes.js';
import { QueueUnavailable, trackRowJson, type QueueAccess } from './console-queue.js';
import { parseParams } from './console-params.js';

export interface TrackingAreaDeps {
  search(q: TrackQuery): Promise<TrackRow[]>;
  /** To mark the rows whose message is still queued; absent: no row is marked. */
  queue?: Pick<QueueAccess, 'list'>;
}

const PARAMS = {
  messageId: { kind: 'text', max: 998 },
  queueId: { kind: 'text', max: 64 },
  from: { kind: 'text', max: 320 },
  to: { kind: 'text', max: 320 },
  since: { kind: 'time' },
  until: { kind: 'time' },
  limit: { kind: 'int', min: 1, max: 1000 },
} as const;

export function trackingArea(deps: TrackingAreaDeps): ConsoleArea {
  return <L extends FastifyBaseLogger>(app: App<L>): void => {
    app.get('/api/tracking', async (req, reply) => {
      const p = parseParams(req.query, PARAMS);
      if (!p.ok) return reply.code(400).send({ error: p.error });
      const { messageId, queueId, from, to, since, until, limit = 200 } = p.value;
      if (since !== undefined && until !== undefined && since > until) return reply.code(400).send({ error: 'since: must not be after until' });
      const rows = await deps.search({
        ...(messageId ? { messageId } : {}), ...(queueId ? { queueId } : {}),
        // The null sender is written "<>" (an empty parameter means "any sender").
        ...(from !== undefined ? { from } : {}), ...(to ? { to } : {}),
        ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), limit,
      });
      let queued = new Set<string>();
      try {
        if (deps.queue) queued = new Set((await deps.queue.list()).map((m) => m.id));
      } catch (err) {
        // A gateway still starting: the events are worth showing without the links.
        if (!(err instanceof QueueUnavailable)) throw err;
      }
      return { events: rows.map((r) => ({ ...trackRowJson(r), queued: queued.has(r.queue_id) })), limit, more: rows.length === limit };
    });
  };
}
