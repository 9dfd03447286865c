/**
 * Queue depth and oldest message age per destination, from the spool's memory
 * (no disk access, so /metrics and the console can ask on every scrape). A
 * recipient counts under the destination of its last attempt ("system:legacy",
 * "external"), or "new" before its first; held messages count under "held",
 * whatever their destination, since nothing leaves them until released.
 */
import { Spool, type QueuedMessage } from '../spool/index.js';

export interface DestinationQueue {
  /** "legacy", "cloud", "external", "new" or "held" (the system: prefix dropped). */
  destination: string;
  messages: number;
  recipients: number;
  /** Age of the oldest message with a pending recipient here, ms. */
  oldestAgeMs: number;
}

export function queueByDestination(messages: Iterable<QueuedMessage>, now: number): DestinationQueue[] {
  const by = new Map<string, { ids: Set<string>; recipients: number; oldest: number }>();
  for (const m of messages) {
    for (const r of m.recipients) {
      if (!Spool.pending(r)) continue;
      const dest = m.held ? 'held' : (r.destination?.replace(/^system:/, '') ?? 'new');
      const e = by.get(dest) ?? { ids: new Set<string>(), recipients: 0, oldest: m.receivedAt };
      e.ids.add(m.id);
      e.recipients++;
      e.oldest = Math.min(e.oldest, m.receivedAt);
      by.set(dest, e);
    }
  }
  return [...by.entries()]
    .map(([destination, e]) => ({ destination, messages: e.ids.size, recipients: e.recipients, oldestAgeMs: Math.max(0, now - e.oldest) }))
    .sort((a, b) => b.oldestAgeMs - a.oldestAgeMs);
}
