/**
 * migrate verify: source and target compared message by message. Per target
 * folder (several source folders merged into one are compared together): counts,
 * and per message the SHA-256 of the full bytes, flags and keywords (\Recent
 * aside), INTERNALDATE. Pairs come from the stored UID map, then by content for
 * whatever the map does not cover. A copy that equals the source once runs of CR
 * before LF are collapsed is "normalized by the target" (Dovecot does that on
 * save, DESIGN.md interop facts), not a difference. Both sides are opened with
 * EXAMINE and read with BODY.PEEK[]; bodies are hashed batch by batch, never kept.
 */
import type { ImapFlow } from 'imapflow';
import { contentId, copyableFlags, sameFlags } from './content.js';
import { batches } from './copier.js';
import { clientPath } from './folders.js';
import { fetchBodies, fetchMeta } from './imap-ops.js';
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
}

export interface UserVerify {
  address: string;
  ok: boolean;
  folders: FolderVerify[];
  differences: Difference[];
  normalized: { folder: string; sourceUid: number; targetUid: number }[];
  error?: { code: string; message: string; unreachable: boolean };
}

interface Rec { uid: number; sha: string; norm: string; flags: string[]; date: number; folder: string; display: string }

async function hashFolder(client: ImapFlow, wire: string, display: string, skipDeleted: boolean): Promise<{ recs: Rec[]; skipped: number }> {
  const box = await client.mailboxOpen(clientPath(wire), { readOnly: true });
  if (box.exists === 0) return { recs: [], skipped: 0 };
  const metas = await fetchMeta(client, 1);
  const kept = metas.filter((m) => !(skipDeleted && m.flags.some((f) => f.toLowerCase() === '\\deleted')));
  const recs: Rec[] = [];
  for (const batch of batches(kept, 200, 16 * 1024 * 1024)) {
    const bodies = await fetchBodies(client, batch.map((m) => m.uid));
    for (const m of batch) {
      const b = bodies.get(m.uid);
      if (!b) continue;
      const id = contentId(b);
      recs.push({ uid: m.uid, sha: id.sha256, norm: id.normalizedSha256, flags: copyableFlags(m.flags), date: m.internalDate?.getTime() ?? 0, folder: wire, display });
    }
  }
  return { recs, skipped: metas.length - kept.length };
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
}

/** Verifies one target folder against every source folder mapped into it. */
export async function verifyTarget(d: VerifyDeps, target: string, group: FolderMapping[], out: UserVerify): Promise<void> {
  const display = group[0]!.display.target;
  const fv: FolderVerify = { target: display, sources: group.map((m) => m.display.source), sourceCount: 0, targetCount: 0, skippedDeleted: 0, equal: 0, normalized: 0, differences: 0 };
  const src: Rec[] = [];
  const mapped = new Map<string, number>();
  for (const m of group) {
    const h = await hashFolder(d.source, m.source, m.display.source, d.skipDeleted);
    src.push(...h.recs);
    fv.skippedDeleted += h.skipped;
    for (const r of await d.state.messages(d.address, m.source, 'done')) {
      if (r.target_uid !== null) mapped.set(`${m.source}\0${r.source_uid}`, r.target_uid);
    }
  }
  const tgt = (await hashFolder(d.target, target, display, false)).recs;
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
