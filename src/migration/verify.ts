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
 * A quick verify (the cutover's, under the hold) is just as strict but hashes
 * only what it has not hashed before: IMAP message bytes under a UID never
 * change (RFC 3501 2.3.1.1; only flags do), so a SHA-256 a full verify recorded
 * for (side, folder, UIDVALIDITY, UID) with the same RFC822.SIZE now is still
 * that message's. Counts, pairing, flags and INTERNALDATE are read fresh for
 * every message (one metadata FETCH per folder); a folder whose UIDVALIDITY
 * changed is hashed whole again.
 */
import type { ImapFlow } from 'imapflow';
import { contentId, copyableFlags, sameFlags } from './content.js';
import { batches } from './copier.js';
import { clientPath } from './folders.js';
import { fetchBodies, type MessageMeta } from './imap-ops.js';
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

/** SHA-256s a verify computed, per side and folder (see the top of this file). */
export interface VerifyCache {
  /** key `${'source' | 'target'}\0${wire folder}` */
  folders: Map<string, { uidValidity: string; msgs: Map<number, { sha: string; norm: string; size: number }> }>;
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

/** fetchMeta of every message in one fetchAll: for 10,000 messages the async iterator's per-message hand-off costs seconds. */
async function fetchAllMeta(client: ImapFlow): Promise<MessageMeta[]> {
  const all = await client.fetchAll('1:*', { uid: true, size: true, flags: true, internalDate: true }, { uid: true });
  return all.map((m) => ({ uid: m.uid, size: m.size ?? 0, flags: [...(m.flags ?? [])], ...(m.internalDate ? { internalDate: new Date(m.internalDate) } : {}) }))
    .sort((a, b) => a.uid - b.uid);
}

interface Hashing { side: 'source' | 'target'; known?: VerifyCache | undefined; keep?: VerifyCache | undefined }

async function hashFolder(client: ImapFlow, wire: string, display: string, skipDeleted: boolean, h: Hashing = { side: 'source' }):
  Promise<{ recs: Rec[]; skipped: number; hashed: number }> {
  const box = await client.mailboxOpen(clientPath(wire), { readOnly: true });
  const key = `${h.side}\0${wire}`;
  const uidValidity = String(box.uidValidity);
  const prior = h.known?.folders.get(key);
  const reuse = prior && prior.uidValidity === uidValidity ? prior.msgs : undefined;
  const keep = new Map<number, { sha: string; norm: string; size: number }>();
  h.keep?.folders.set(key, { uidValidity, msgs: keep });
  if (box.exists === 0) return { recs: [], skipped: 0, hashed: 0 };
  const metas = await fetchAllMeta(client);
  const kept = metas.filter((m) => !(skipDeleted && m.flags.some((f) => f.toLowerCase() === '\\deleted')));
  const recs: Rec[] = [];
  const push = (m: (typeof kept)[number], sha: string, norm: string): void => {
    recs.push({ uid: m.uid, sha, norm, flags: copyableFlags(m.flags), date: m.internalDate?.getTime() ?? 0, folder: wire, display });
    if (h.keep) keep.set(m.uid, { sha, norm, size: m.size });
  };
  const toHash: typeof kept = [];
  for (const m of kept) {
    const c = reuse?.get(m.uid);
    if (c && c.size === m.size) push(m, c.sha, c.norm);
    else toHash.push(m);
  }
  for (const batch of batches(toHash, 200, 16 * 1024 * 1024)) {
    const bodies = await fetchBodies(client, batch.map((m) => m.uid));
    for (const m of batch) {
      const b = bodies.get(m.uid);
      if (!b) continue;
      const id = contentId(b);
      push(m, id.sha256, id.normalizedSha256);
    }
  }
  return { recs, skipped: metas.length - kept.length, hashed: toHash.length };
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
}

/** Verifies one target folder against every source folder mapped into it. */
export async function verifyTarget(d: VerifyDeps, target: string, group: FolderMapping[], out: UserVerify): Promise<void> {
  const display = group[0]!.display.target;
  const fv: FolderVerify = { target: display, sources: group.map((m) => m.display.source), sourceCount: 0, targetCount: 0, skippedDeleted: 0, equal: 0, normalized: 0, differences: 0 };
  const src: Rec[] = [];
  const mapped = new Map<string, number>();
  for (const m of group) {
    const h = await hashFolder(d.source, m.source, m.display.source, d.skipDeleted, { side: 'source', known: d.known, keep: d.keep });
    src.push(...h.recs);
    fv.skippedDeleted += h.skipped;
    fv.hashed = (fv.hashed ?? 0) + h.hashed;
    for (const r of await d.state.messages(d.address, m.source, 'done')) {
      if (r.target_uid !== null) mapped.set(`${m.source}\0${r.source_uid}`, r.target_uid);
    }
  }
  const th = await hashFolder(d.target, target, display, false, { side: 'target', known: d.known, keep: d.keep });
  const tgt = th.recs;
  fv.hashed = (fv.hashed ?? 0) + th.hashed;
  out.hashed = (out.hashed ?? 0) + (fv.hashed ?? 0);
  fv.sourceCount = src.length;
  fv.targetCount = tgt.length;
  const byUid = new Map(tgt.map((t) => [t.uid, t]));
  const unpaired: Rec[] = [];
  for (const s of src) {
    const tu = mapped.get(`${s.folder}\0${s.uid}`);
    const t = tu !== undefined ? byUid.get(tu) : undefined;
    if (t) {
      byUid.delete(t.uid);
      compare(s, t, display, out.differences, fv, out.normalized);
    } else unpaired.push(s);
  }
  // Not in the map (state lost, copied by something else): pair by content.
  const bySha = new Map<string, Rec[]>();
  for (const t of byUid.values()) bySha.set(t.sha, [...(bySha.get(t.sha) ?? []), t]);
  for (const s of unpaired) {
    const t = bySha.get(s.sha)?.shift() ?? bySha.get(s.norm)?.shift();
    if (t) {
      byUid.delete(t.uid);
      compare(s, t, display, out.differences, fv, out.normalized);
    } else {
      out.differences.push({ kind: 'missing', folder: s.display, target: display, sourceUid: s.uid, detail: 'on the source, not on the target' });
      fv.differences++;
    }
  }
  for (const t of byUid.values()) {
    out.differences.push({ kind: 'extra', folder: display, target: display, targetUid: t.uid, detail: 'on the target, not on the source' });
    fv.differences++;
  }
  out.folders.push(fv);
}
