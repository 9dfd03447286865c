/**
 * migrate verify: source and target compared message by message. Per target
 * folder (several source folders merged into one are compared together): counts,
 * and per message the SHA-256 of the full bytes, flags and keywords (\Recent
 * aside), INTERNALDATE. Pairs come from the stored UID map, then by content for
 * whatever the map does not cover. A copy that equals the source once runs of CR
 * before LF are collapsed is "normalized by the target" (Dovecot does that on
 * save, DESIGN.md interop facts), not a difference. Both sides are opened with
 * EXAMINE and read with BODY.PEEK[]; bodies are hashed batch by batch, never kept.
 *
 * Memory stays flat with folder size (issue 3): a folder is read in windows of
 * UIDs (2,000): the source window's metadata and state rows, then exactly the
 * target messages the map pairs them with; only UID numbers are held for the
 * whole folder (a typed array per side and a bitmap of paired target UIDs).
 * What the map does not pair (a difference, or a copy made without state) is
 * kept until the end, where the unpaired target messages are read window by
 * window and paired by content as before.
 *
 * A quick verify (the cutover's, under the hold) is just as strict but hashes
 * only what it has not hashed before: IMAP message bytes under a UID never
 * change (RFC 3501 2.3.1.1; only flags do), so a SHA-256 a full verify recorded
 * for (side, folder, UIDVALIDITY, UID) with the same RFC822.SIZE now is still
 * that message's. Counts, pairing, flags and INTERNALDATE are read fresh for
 * every message (metadata FETCHes window by window); a folder whose UIDVALIDITY
 * changed is hashed whole again. The recorded hashes are packed (HashTable:
 * typed arrays, 40 bytes a message, no object per message).
 */
import type { ImapFlow } from 'imapflow';
import { contentId, copyableFlags, sameFlags } from './content.js';
import { batches } from './copier.js';
import { clientPath } from './folders.js';
import { fetchBodies, type MessageMeta } from './imap-ops.js';
import { indexOf, uidSet } from './imap-parse.js';
import { listUids } from './imap-ops.js';
import type { MigrationState } from './state.js';
import type { FolderMapping } from '../protocol/imap/index.js';

export interface Difference {
  kind: 'missing' | 'extra' | 'content' | 'flags' | 'internaldate';
  folder: string;
  target: string;
  sourceUid?: number;
  targetUid?: number;
  detail: string;
}

export interface FolderVerify {
  target: string;
  sources: string[];
  sourceCount: number;
  targetCount: number;
  skippedDeleted: number;
  equal: number;
  normalized: number;
  differences: number;
  /** Messages whose bodies were fetched and hashed (the rest came from a VerifyCache). */
  hashed?: number;
}

/**
 * The SHA-256s of one folder, packed: UIDs, sizes and digests in typed arrays
 * that double when full (40 bytes a message; the CR-collapsed digest, which
 * differs only for messages with CR runs, in a small side table), looked up by
 * binary search over the UIDs (sorted once, on the first lookup after an add).
 */
export class HashTable {
  private uids = new Uint32Array(256);
  private sizes = new Uint32Array(256);
  private digests = Buffer.alloc(256 * 32);
  /** uid -> collapsed digest, only where it differs from the digest. */
  private norms = new Map<number, string>();
  private n = 0;
  private sorted = true;

  get size(): number { return this.n; }

  /** Bytes of the packed arrays (capacity included). */
  get bytes(): number { return this.uids.byteLength + this.sizes.byteLength + this.digests.byteLength + this.norms.size * 100; }

  set(uid: number, v: { sha: string; norm: string; size: number }): void {
    if (this.n === this.uids.length) {
      const cap = this.n * 2;
      const u = new Uint32Array(cap); u.set(this.uids); this.uids = u;
      const s = new Uint32Array(cap); s.set(this.sizes); this.sizes = s;
      const d = Buffer.alloc(cap * 32); this.digests.copy(d); this.digests = d;
    }
    if (this.n > 0 && uid <= this.uids[this.n - 1]!) this.sorted = false;
    this.uids[this.n] = uid;
    this.sizes[this.n] = v.size;
    this.digests.write(v.sha, this.n * 32, 32, 'hex');
    if (v.norm !== v.sha) this.norms.set(uid, v.norm);
    this.n++;
  }

  get(uid: number): { sha: string; norm: string; size: number } | undefined {
    if (!this.sorted) this.sort();
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const u = this.uids[mid]!;
      if (u === uid) {
        const sha = this.digests.toString('hex', mid * 32, mid * 32 + 32);
        return { size: this.sizes[mid]!, sha, norm: this.norms.get(uid) ?? sha };
      }
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private sort(): void {
    const order = Uint32Array.from({ length: this.n }, (_, i) => i).sort((a, b) => this.uids[a]! - this.uids[b]!);
    const u = new Uint32Array(this.uids.length);
    const s = new Uint32Array(this.uids.length);
    const d = Buffer.alloc(this.uids.length * 32);
    order.forEach((from, to) => { u[to] = this.uids[from]!; s[to] = this.sizes[from]!; this.digests.copy(d, to * 32, from * 32, from * 32 + 32); });
    this.uids = u;
    this.sizes = s;
    this.digests = d;
    this.sorted = true;
  }
}

/** SHA-256s a verify computed, per side and folder (see the top of this file). */
export interface VerifyCache {
  /** key `${'source' | 'target'}\0${wire folder}` */
  folders: Map<string, { uidValidity: string; msgs: HashTable }>;
}

export function newVerifyCache(): VerifyCache {
  return { folders: new Map() };
}

export interface UserVerify {
  address: string;
  ok: boolean;
  folders: FolderVerify[];
  differences: Difference[];
  normalized: { folder: string; sourceUid: number; targetUid: number }[];
  error?: { code: string; message: string; unreachable: boolean };
  /** With `keep`: every hash this verify used, for a later quick verify. */
  cache?: VerifyCache;
  /** Bodies fetched and hashed, both sides. */
  hashed?: number;
}

interface Rec { uid: number; sha: string; norm: string; flags: string[]; date: number; folder: string; display: string }

/** UIDs of a folder read per window (exported for the unit test that proves the bound). */
export const VERIFY_WINDOW = 2000;

/** Hooks for tests: every UID set asked for, with its size. */
export interface VerifyProbe { onRead?: (side: 'source' | 'target', uids: number) => void }

/** One opened folder of one side: where its hashes come from and go to. */
interface Side {
  client: ImapFlow;
  side: 'source' | 'target';
  wire: string;
  display: string;
  skipDeleted: boolean;
  reuse?: HashTable | undefined;
  keep?: HashTable | undefined;
  hashed: number;
  skipped: number;
  probe?: VerifyProbe | undefined;
}

/** Opens a folder read-only; its UIDs ascending (numbers only) and the cache entries for it. */
async function openSide(client: ImapFlow, side: 'source' | 'target', wire: string, display: string, skipDeleted: boolean,
  known: VerifyCache | undefined, keep: VerifyCache | undefined, probe: VerifyProbe | undefined): Promise<{ s: Side; uids: Uint32Array }> {
  const box = await client.mailboxOpen(clientPath(wire), { readOnly: true });
  const key = `${side}\0${wire}`;
  const uidValidity = String(box.uidValidity);
  const prior = known?.folders.get(key);
  const s: Side = { client, side, wire, display, skipDeleted, hashed: 0, skipped: 0, probe,
    reuse: prior && prior.uidValidity === uidValidity ? prior.msgs : undefined };
  if (keep) {
    s.keep = new HashTable();
    keep.folders.set(key, { uidValidity, msgs: s.keep });
  }
  if (box.exists === 0) return { s, uids: new Uint32Array(0) };
  return { s, uids: await listUids(client) };
}

/** Metadata of one window of UIDs, then the hashes: from the cache when the size matches, else the bodies in batches. */
async function readWindow(s: Side, uids: ArrayLike<number>): Promise<Rec[]> {
  if (uids.length === 0) return [];
  s.probe?.onRead?.(s.side, uids.length);
  const all = await s.client.fetchAll(uidSet(Array.from(uids)), { uid: true, size: true, flags: true, internalDate: true }, { uid: true });
  // `time`: INTERNALDATE in ms, what the comparison uses.
  const metas: (MessageMeta & { time: number })[] = [];
  for (const m of all) {
    const meta = { uid: m.uid, size: m.size ?? 0, flags: [...(m.flags ?? [])], time: m.internalDate ? new Date(m.internalDate).getTime() : 0 };
    if (s.skipDeleted && meta.flags.some((f) => f.toLowerCase() === '\\deleted')) s.skipped++;
    else metas.push(meta);
  }
  metas.sort((a, b) => a.uid - b.uid);
  const hashes = new Map<number, { sha: string; norm: string }>();
  const toHash: MessageMeta[] = [];
  for (const m of metas) {
    const c = s.reuse?.get(m.uid);
    if (c && c.size === m.size) hashes.set(m.uid, c);
    else toHash.push(m);
  }
  for (const batch of batches(toHash, 200, 16 * 1024 * 1024)) {
    const bodies = await fetchBodies(s.client, batch.map((m) => m.uid));
    for (const m of batch) {
      const b = bodies.get(m.uid);
      if (!b) continue;
      const id = contentId(b);
      hashes.set(m.uid, { sha: id.sha256, norm: id.normalizedSha256 });
      s.hashed++;
    }
  }
  const recs: Rec[] = [];
  for (const m of metas) {
    const h = hashes.get(m.uid);
    if (!h) continue;
    recs.push({ uid: m.uid, sha: h.sha, norm: h.norm, flags: copyableFlags(m.flags), date: m.time, folder: s.wire, display: s.display });
    s.keep?.set(m.uid, { sha: h.sha, norm: h.norm, size: m.size });
  }
  return recs;
}

function compare(s: Rec, t: Rec, target: string, out: Difference[], fv: FolderVerify, normalized: UserVerify['normalized']): void {
  const base = { folder: s.display, target, sourceUid: s.uid, targetUid: t.uid };
  let differs = false;
  if (s.sha !== t.sha) {
    if (s.norm === t.sha) {
      normalized.push({ folder: s.display, sourceUid: s.uid, targetUid: t.uid });
      fv.normalized++;
    } else {
      out.push({ ...base, kind: 'content', detail: `SHA-256 ${s.sha.slice(0, 16)}… on the source, ${t.sha.slice(0, 16)}… on the target` });
      differs = true;
    }
  }
  if (!sameFlags(s.flags, t.flags)) {
    out.push({ ...base, kind: 'flags', detail: `source (${s.flags.join(' ')}) target (${t.flags.join(' ')})` });
    differs = true;
  }
  if (s.date !== t.date) {
    out.push({ ...base, kind: 'internaldate', detail: `source ${new Date(s.date).toISOString()} target ${new Date(t.date).toISOString()}` });
    differs = true;
  }
  if (differs) fv.differences++;
  else fv.equal++;
}

export interface VerifyDeps {
  address: string;
  source: ImapFlow;
  target: ImapFlow;
  state: MigrationState;
  skipDeleted: boolean;
  /** Quick verify: reuse the hashes of an earlier verify (same UIDVALIDITY, same RFC822.SIZE). */
  known?: VerifyCache | undefined;
  /** Record every hash used into this cache. */
  keep?: VerifyCache | undefined;
  /** UIDs per window (default VERIFY_WINDOW). */
  window?: number;
  probe?: VerifyProbe;
}

/** Verifies one target folder against every source folder mapped into it. */
export async function verifyTarget(d: VerifyDeps, target: string, group: FolderMapping[], out: UserVerify): Promise<void> {
  const display = group[0]!.display.target;
  const fv: FolderVerify = { target: display, sources: group.map((m) => m.display.source), sourceCount: 0, targetCount: 0, skippedDeleted: 0, equal: 0, normalized: 0, differences: 0 };
  const window = d.window ?? VERIFY_WINDOW;
  // The target folder stays open on its session while the source folders are read on theirs.
  const { s: tside, uids: targetUids } = await openSide(d.target, 'target', target, display, false, d.known, d.keep, d.probe);
  /** One bit per listed target message (by its index in targetUids): paired already. */
  const paired = new Uint8Array(Math.ceil(targetUids.length / 8));
  const isPaired = (i: number): boolean => (paired[i >>> 3]! & (1 << (i & 7))) !== 0;
  const setPaired = (i: number): void => { paired[i >>> 3]! |= 1 << (i & 7); };
  const unpaired: Rec[] = [];
  let srcHashed = 0;

  for (const m of group) {
    const { s: sside, uids } = await openSide(d.source, 'source', m.source, m.display.source, d.skipDeleted, d.known, d.keep, d.probe);
    /** One source window: its target counterparts from the map, compared in source order. */
    const pairWindow = async (recs: Rec[]): Promise<void> => {
      fv.sourceCount += recs.length;
      if (recs.length === 0) return;
      // The window's state rows: pages of the map by source UID range (usually one query), never more than a window.
      const mapped = new Map<number, number>();
      const lo = recs[0]!.uid;
      const hi = recs[recs.length - 1]!.uid;
      for (let after = lo - 1; ;) {
        const page = await d.state.messagesPage(d.address, m.source, after, window);
        for (const r of page) {
          if (r.source_uid <= hi && r.state === 'done' && r.target_uid !== null) mapped.set(r.source_uid, r.target_uid);
        }
        if (page.length < window || page[page.length - 1]!.source_uid >= hi) break;
        after = page[page.length - 1]!.source_uid;
      }
      // Only target messages in the folder's listing, each once (the listing is the snapshot we compare with).
      const want = new Set<number>();
      for (const s of recs) {
        const tu = mapped.get(s.uid);
        if (tu === undefined) continue;
        const i = indexOf(targetUids, tu);
        if (i >= 0 && !isPaired(i)) want.add(tu);
      }
      const tgt = new Map((await readWindow(tside, [...want].sort((a, b) => a - b))).map((t) => [t.uid, t]));
      for (const s of recs) {
        const tu = mapped.get(s.uid);
        const t = tu !== undefined ? tgt.get(tu) : undefined;
        if (t) {
          tgt.delete(t.uid);
          setPaired(indexOf(targetUids, t.uid));
          fv.targetCount++;
          compare(s, t, display, out.differences, fv, out.normalized);
        } else unpaired.push(s);
      }
    };
    // The next source window is read while the current one is paired on the target session.
    let next = uids.length > 0 ? readWindow(sside, uids.subarray(0, window)) : undefined;
    for (let i = 0; next; i += window) {
      const recs = await next;
      next = i + window < uids.length ? readWindow(sside, uids.subarray(i + window, i + 2 * window)) : undefined;
      next?.catch(() => undefined);
      await pairWindow(recs);
    }
    fv.skippedDeleted += sside.skipped;
    srcHashed += sside.hashed;
  }

  // Not in the map (state lost, copied by something else): pair by content with the target messages left.
  const wanted = new Set<string>();
  for (const s of unpaired) { wanted.add(s.sha); wanted.add(s.norm); }
  const candidates: Rec[] = [];
  const extras: number[] = [];
  for (let i = 0; i < targetUids.length; i += window) {
    const rest: number[] = [];
    for (let j = i; j < Math.min(i + window, targetUids.length); j++) if (!isPaired(j)) rest.push(targetUids[j]!);
    for (const t of await readWindow(tside, rest)) {
      fv.targetCount++;
      if (wanted.has(t.sha)) candidates.push(t);
      else extras.push(t.uid);
    }
  }
  const bySha = new Map<string, Rec[]>();
  for (const t of candidates) {
    const list = bySha.get(t.sha);
    if (list) list.push(t);
    else bySha.set(t.sha, [t]);
  }
  for (const s of unpaired) {
    const t = bySha.get(s.sha)?.shift() ?? bySha.get(s.norm)?.shift();
    if (t) {
      compare(s, t, display, out.differences, fv, out.normalized);
    } else {
      out.differences.push({ kind: 'missing', folder: s.display, target: display, sourceUid: s.uid, detail: 'on the source, not on the target' });
      fv.differences++;
    }
  }
  for (const list of bySha.values()) for (const t of list) extras.push(t.uid);
  for (const uid of extras.sort((a, b) => a - b)) {
    out.differences.push({ kind: 'extra', folder: display, target: display, targetUid: uid, detail: 'on the target, not on the source' });
    fv.differences++;
  }
  fv.hashed = srcHashed + tside.hashed;
  out.hashed = (out.hashed ?? 0) + fv.hashed;
  out.folders.push(fv);
}
