/**
 * Recipient state in memory and in the journal: a new message's state, one
 * change applied, the replay at open (journal records, and the per-message
 * state logs of an earlier version), and the absolute snapshot a compacted
 * journal file starts with (journal.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpoolBooks } from './books.js';
import type { JournalRecord } from './journal.js';
import type { QueuedMessage, SpoolEnvelope, StateChange } from './types.js';

export function applyChange(m: QueuedMessage, c: StateChange, at: number): void {
  switch (c.op) {
    case 'hold': m.held = true; break;
    case 'release': m.held = false; break;
    case 'retry':
      for (const r of m.recipients) if (r.status === 'deferred' || r.status === 'queued') r.nextAttempt = at;
      break;
    case 'rcpt': {
      const r = m.recipients[c.index];
      if (r) Object.assign(r, c.state);
      break;
    }
  }
}

export function freshMessage(id: string, receivedAt: number, size: number, envelope: SpoolEnvelope): QueuedMessage {
  return {
    id, receivedAt, size, envelope, held: false,
    recipients: envelope.recipients.map(() => ({ status: 'queued', attempts: 0, nextAttempt: receivedAt, updatedAt: receivedAt })),
  };
}

/** Nothing left to do: every recipient delivered, or bounced with its DSN queued. */
export function finished(m: QueuedMessage): boolean {
  return m.recipients.every((r) => r.status === 'delivered' || (r.status === 'bounced' && r.failNotified === true));
}

/** Applies a per-message state log of an earlier version (`<id>.state`, one JSON change a line). */
export async function replayLegacy(books: SpoolBooks, id: string): Promise<void> {
  const m = books.messages.get(id)!;
  books.legacyState.add(id);
  const text = await readFile(join(books.queueDir, `${id}.state`), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const rec = JSON.parse(line) as StateChange & { at: number };
      applyChange(m, rec, rec.at);
    } catch {
      // A torn last line: that change never completed its sync, so it never counted.
    }
  }
}

export function replayJournal(books: SpoolBooks, records: JournalRecord[]): void {
  for (const r of records) {
    if ('removed' in r) {
      if (books.messages.has(r.id) || books.loc.has(r.id)) books.forget(r.id);
      continue;
    }
    const m = books.messages.get(r.id);
    if (!m) continue;
    if ('snap' in r) {
      m.held = r.snap.held;
      r.snap.recipients.forEach((s, i) => { if (m.recipients[i]) m.recipients[i] = { ...s }; });
    } else {
      applyChange(m, r.c, r.at);
    }
  }
}

/** The absolute state a fresh journal file starts with. */
export async function snapshot(books: SpoolBooks, syncDir: () => Promise<void>, now: () => number): Promise<JournalRecord[]> {
  const gone = [...books.tombstones].filter(([, g]) => g).map(([id]) => id);
  // Makes the unlinks done so far durable: only then may their tombstones go.
  await syncDir();
  for (const id of gone) books.tombstones.delete(id);
  const at = now();
  const out: JournalRecord[] = [];
  for (const m of books.messages.values()) out.push({ id: m.id, at, snap: { held: m.held, recipients: m.recipients.map((r) => ({ ...r })) } });
  for (const id of books.tombstones.keys()) out.push({ id, at, removed: true });
  return out;
}
