/**
 * migrate plan: an inventory that never changes anything on either side. Per
 * user and folder: messages, bytes, \Deleted (skipped by default), the target
 * folder, merges and collisions, and messages the target is known to refuse.
 *
 * What can be known without downloading every message: RFC822.SIZE against the
 * size limit (migration.maxMessageSize, imap.appendLimit, the target's
 * APPENDLIMIT). NUL bytes and lines over 998 octets (RFC 5322 2.1.1) need the
 * bytes: plan checks them in the measured sample only and says so; `run`
 * records any refusal with the server's answer.
 *
 * The duration estimate comes from a measured sample: BODY.PEEK[] of up to
 * `sampleSize` of the user's newest messages, timed. The copy pipelines reads
 * and writes, so a pass takes about the slower of the two; writes are not
 * measured (plan never writes), so the read time is doubled to stay on the
 * safe side. The method is part of the report.
 */
import type { ImapFlow } from 'imapflow';
import { clientPath } from './folders.js';
import { fetchBodies, fetchMeta } from './imap-ops.js';

export interface PlanFolder {
  source: string;
  target: string;
  reason: string;
  merged: boolean;
  messages: number;
  bytes: number;
  deleted: number;
  tooLarge: number;
}

export interface SampleResult {
  messages: number;
  bytes: number;
  ms: number;
  nulBytes: number;
  longLines: number;
}

export function hasNul(b: Buffer): boolean {
  return b.indexOf(0) >= 0;
}

/** A line longer than 998 octets without its CRLF (RFC 5322 2.1.1). */
export function hasLongLine(b: Buffer): boolean {
  let start = 0;
  for (;;) {
    const nl = b.indexOf(0x0a, start);
    const end = nl < 0 ? b.length : nl;
    const len = end - start - (end > start && b[end - 1] === 0x0d ? 1 : 0);
    if (len > 998) return true;
    if (nl < 0) return false;
    start = nl + 1;
  }
}

export async function inventoryFolder(source: ImapFlow, wire: string, maxSize: number | undefined, skipDeleted: boolean): Promise<Omit<PlanFolder, 'source' | 'target' | 'reason' | 'merged'> & { uids: number[] }> {
  const box = await source.mailboxOpen(clientPath(wire), { readOnly: true });
  const out = { messages: 0, bytes: 0, deleted: 0, tooLarge: 0, uids: [] as number[] };
  if (box.exists === 0) return out;
  for (const m of await fetchMeta(source, 1, false)) {
    if (skipDeleted && m.flags.some((f) => f.toLowerCase() === '\\deleted')) {
      out.deleted++;
      continue;
    }
    out.messages++;
    out.bytes += m.size;
    if (maxSize !== undefined && m.size > maxSize) out.tooLarge++;
    else out.uids.push(m.uid);
  }
  return out;
}

/** Times BODY.PEEK[] of the given UIDs of one folder and looks at their bytes. */
export async function measureSample(source: ImapFlow, wire: string, uids: readonly number[]): Promise<SampleResult> {
  await source.mailboxOpen(clientPath(wire), { readOnly: true });
  const t0 = process.hrtime.bigint();
  const bodies = await fetchBodies(source, uids);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const r: SampleResult = { messages: bodies.size, bytes: 0, ms, nulBytes: 0, longLines: 0 };
  for (const b of bodies.values()) {
    r.bytes += b.length;
    if (hasNul(b)) r.nulBytes++;
    if (hasLongLine(b)) r.longLines++;
  }
  return r;
}

export const ESTIMATE_METHOD = 'read time of a timed sample (BODY.PEEK[] of the newest messages, at most 50 and 20 MB), '
  + 'scaled to the user\'s messages and bytes (whichever gives more time), doubled because writes are not measured';

export function estimateSeconds(s: SampleResult, messages: number, bytes: number): number | null {
  if (s.messages === 0 || s.ms <= 0) return messages === 0 ? 0 : null;
  const perMsg = s.ms / s.messages;
  const perByte = s.bytes > 0 ? s.ms / s.bytes : 0;
  return Math.round((2 * Math.max(perMsg * messages, perByte * bytes)) / 100) / 10;
}
