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
 * Memory stays flat with folder size (issue 3): a folder's metadata is read in
 * windows of UIDs (PLAN_WINDOW, 2,000, or the engine's windowMessages), only the
 * UID numbers are held for the whole folder (typed arrays); the dry run of
 * `migrate run` counts new messages from the UID list alone.
 *
 * The duration estimate comes from a measured sample: BODY.PEEK[] of up to
 * `sampleSize` of the user's newest messages, timed. The copy pipelines reads
 * and writes, so a pass takes about the slower of the two; writes are not
 * measured (plan never writes), so the read time is doubled to stay on the
 * safe side. The method is part of the report.
 */
import type { ImapFlow } from 'imapflow';
import { clientPath } from './folders.js';
import { fetchBodies } from './imap-ops.js';
import { uidSet } from './raw-imap.js';
import { indexOf } from './imap-parse.js';
import { listUids } from './imap-ops.js';

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

/** UIDs whose metadata plan and dry run read with one FETCH (as sync-folder.ts and verify.ts). */
export const PLAN_WINDOW = 2000;

export interface Inventory extends Omit<PlanFolder, 'source' | 'target' | 'reason' | 'merged'> {
  /** The UIDs a copy would send (not \Deleted when skipped, not over the size limit), ascending: numbers only. */
  uids: Uint32Array;
}

/**
 * Counts, bytes and known refusals of one folder, read in windows of UIDs: the
 * folder's UID list as one typed array (verify.ts listUids, ESEARCH), then UID
 * FETCH (UID RFC822.SIZE FLAGS) of `window` UIDs at a time, so at most one
 * window of message objects exists at once.
 */
export async function inventoryFolder(source: ImapFlow, wire: string, maxSize: number | undefined, skipDeleted: boolean,
  window = PLAN_WINDOW): Promise<Inventory> {
  const box = await source.mailboxOpen(clientPath(wire), { readOnly: true });
  const out: Inventory = { messages: 0, bytes: 0, deleted: 0, tooLarge: 0, uids: new Uint32Array(0) };
  if (box.exists === 0) return out;
  const all = await listUids(source);
  const keep = new Uint32Array(all.length);
  let kept = 0;
  for (let i = 0; i < all.length; i += window) {
    const span = all.subarray(i, i + window);
    /** Answered already, by index in the window: an unsolicited FETCH (another session's flag change) is not counted twice. */
    const seen = new Uint8Array(span.length);
    const ok = new Uint8Array(span.length);
    for (const m of await source.fetchAll(uidSet(Array.from(span)), { uid: true, size: true, flags: true }, { uid: true })) {
      const at = indexOf(span, m.uid);
      if (at < 0 || seen[at] || m.size === undefined) continue;
      seen[at] = 1;
      if (skipDeleted && [...(m.flags ?? [])].some((f) => f.toLowerCase() === '\\deleted')) {
        out.deleted++;
        continue;
      }
      out.messages++;
      out.bytes += m.size;
      if (maxSize !== undefined && m.size > maxSize) out.tooLarge++;
      else ok[at] = 1;
    }
    for (let j = 0; j < span.length; j++) if (ok[j]) keep[kept++] = span[j]!;
  }
  out.uids = keep.slice(0, kept);
  return out;
}

/**
 * migrate run --dry-run for one folder: the messages above the highest UID done
 * (every message without state), counted from the folder's UID list alone
 * (ESEARCH, a typed array): no FETCH, no message object.
 */
export async function countNew(source: ImapFlow, wire: string, highest: number, skipDeleted: boolean): Promise<{ seen: number; skippedDeleted: number }> {
  await source.mailboxOpen(clientPath(wire), { readOnly: true });
  const all = (await listUids(source, highest + 1)).length;
  // As a pass counts them: \Deleted ones are skipped, not copied (migration.skipDeleted).
  const deleted = skipDeleted && all > 0 ? (await listUids(source, highest + 1, { deleted: true })).length : 0;
  return { seen: all - deleted, skippedDeleted: deleted };
}

/** The sample's byte budget: a folder of 30 MB messages must not be read 50 at a time into memory. */
export const SAMPLE_BYTES = 20 * 1024 * 1024;

/** Of the candidates (oldest first), the newest ones that fit in `budget` bytes; the smallest one if none does. */
export function pickSample(uids: ArrayLike<number>, sizes: ReadonlyMap<number, number>, budget = SAMPLE_BYTES): number[] {
  const pick: number[] = [];
  let total = 0;
  let smallest: number | undefined;
  for (let i = uids.length - 1; i >= 0; i--) {
    const uid = uids[i]!;
    const size = sizes.get(uid);
    if (size === undefined) continue; // expunged since the inventory
    if (smallest === undefined || size < sizes.get(smallest)!) smallest = uid;
    if (total + size <= budget) { pick.push(uid); total += size; }
  }
  return pick.length > 0 || smallest === undefined ? pick.reverse() : [smallest];
}

/** Times BODY.PEEK[] of the newest of the given UIDs of one folder (within the byte budget) and looks at their bytes. */
export async function measureSample(source: ImapFlow, wire: string, uids: ArrayLike<number>, budget = SAMPLE_BYTES): Promise<SampleResult> {
  await source.mailboxOpen(clientPath(wire), { readOnly: true });
  const sizes = new Map<number, number>();
  if (uids.length > 0) {
    for (const m of await source.fetchAll(uidSet(Array.from(uids)), { uid: true, size: true }, { uid: true })) sizes.set(m.uid, m.size ?? 0);
  }
  const t0 = process.hrtime.bigint();
  const bodies = await fetchBodies(source, pickSample(uids, sizes, budget));
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
