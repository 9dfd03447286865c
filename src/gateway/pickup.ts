/**
 * The pickup folder (gateway.pickup): a `.eml` file dropped there is queued
 * like mail received over SMTP. The envelope comes from its `X-Sender` (one)
 * and `X-Receiver` (one or more) header fields, which are removed, as IIS and
 * Exchange pickup folders do. A file is deleted only after its message is
 * durable in the spool; a file that cannot be queued is renamed to `.bad`.
 */
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpoolEnvelope } from '../spool/index.js';
import { fieldValue, firstValue, joinMessage, splitMessage } from './headers.js';

export interface PickupResult {
  envelope: SpoolEnvelope;
  body: Buffer;
}

const bare = (s: string): string => s.trim().replace(/^<(.*)>$/, '$1').trim();

/** Reads the envelope out of a pickup file; undefined when it has no X-Receiver. */
export function parsePickup(raw: Buffer): PickupResult | undefined {
  const text = raw.includes('\r\n') ? raw : Buffer.from(raw.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  const split = splitMessage(text);
  const from = split.fields.filter((f) => f.name === 'x-sender').map(fieldValue)[0];
  const to = split.fields.filter((f) => f.name === 'x-receiver').map((f) => bare(fieldValue(f))).filter(Boolean);
  if (to.length === 0) return undefined;
  const kept = split.fields.filter((f) => f.name !== 'x-sender' && f.name !== 'x-receiver');
  const messageId = firstValue(kept, 'message-id');
  return {
    envelope: {
      from: from ? bare(from) : '',
      recipients: to.map((address) => ({ address })),
      source: { kind: 'pickup' },
      bodyType: text.some((b) => b >= 0x80) ? '8bitmime' : '7bit',
      ...(messageId ? { messageId } : {}),
    },
    body: joinMessage([], kept, split.rest),
  };
}

/** One scan of the folder; `queue` makes the message durable (and throws if it cannot). */
export async function scanPickup(dir: string, queue: (p: PickupResult, file: string) => Promise<void>, onBad: (file: string, reason: string) => void): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.eml')).sort();
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const path = join(dir, name);
    const p = parsePickup(await readFile(path));
    if (!p) {
      await rename(path, `${path}.bad`).catch(() => undefined);
      onBad(name, 'no X-Receiver header');
      continue;
    }
    try {
      await queue(p, name);
    } catch (err) {
      onBad(name, (err as Error).message);
      continue; // left in place: tried again on the next scan
    }
    await unlink(path);
    n++;
  }
  return n;
}
