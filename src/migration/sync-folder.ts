/**
 * One folder of one user, one pass. Decides the mode from the stored state:
 *   copy      no state and an empty target folder: copy everything;
 *   delta     same UIDVALIDITY: resolve crash intents, copy UIDs above the
 *             highest done, update changed flags (CONDSTORE CHANGEDSINCE when
 *             the source has it, else a FLAGS fetch), delete on the target what
 *             the source expunged (only with deleteOnTarget);
 *   reconcile no state (lost) or a new UIDVALIDITY but messages on the target:
 *             every source message is looked up on the target by content
 *             (Message-ID + size + header hash; full hash when there is no
 *             Message-ID) before it is appended. Never deletes anything.
 */
import type { ImapFlow } from 'imapflow';
import type { Logger } from '../observe/index.js';
import { logEvent } from '../observe/index.js';
import type { FolderMapping } from '../protocol/imap/index.js';
import { contentId, copyableFlags, sameFlags } from './content.js';
import { copyMessages, type Appender, type CopyContext } from './copier.js';
import { clientPath } from './folders.js';
import { fetchBodies, fetchFlags, fetchMeta, targetIndex, type MessageMeta } from './imap-ops.js';
import type { MessageRow, MigrationState } from './state.js';
import { emptyCounts, type FolderReport, type Refusal } from './types.js';

export interface FolderDeps {
  address: string;
  source: ImapFlow;
  /** Target session that SELECTs the target folder (flag updates, index, deletes). */
  control: ImapFlow;
  appenders: readonly Appender[];
  state: MigrationState;
  log: Logger;
  skipDeleted: boolean;
  deleteOnTarget: boolean;
  maxSize?: number;
  batchMessages?: number;
  onBatch?: (folder: string, messages: number, bytes: number) => void;
}

const isDeleted = (flags: readonly string[]): boolean => flags.some((f) => f.toLowerCase() === '\\deleted');

/** Finds a source message on the target by content, consuming the match so two equal messages map to two target messages. */
function contentMatcher(control: ImapFlow, index: Map<string, number[]>): NonNullable<CopyContext['match']> {
  return async (body) => {
    const id = contentId(body);
    const candidates = index.get(id.key);
    if (!candidates || candidates.length === 0) return undefined;
    for (let i = 0; i < candidates.length; i++) {
      const uid = candidates[i]!;
      // Without a Message-ID the key is weak (size + headers): confirm with the full hash.
      if (!id.messageId) {
        const t = (await fetchBodies(control, [uid])).get(uid);
        if (!t) continue;
        const ts = contentId(t).sha256;
        if (ts !== id.sha256 && ts !== id.normalizedSha256) continue;
      }
      candidates.splice(i, 1);
      return uid;
    }
    return undefined;
  };
}

/** Crash recovery: each intent's message is either on the target (found by content) or gets appended again. */
async function resolveIntents(d: FolderDeps, m: FolderMapping, intents: MessageRow[], report: FolderReport): Promise<void> {
  const claimed = await d.state.claimedTargetUids(d.address, m.target);
  let lo = 1;
  for (const u of claimed) lo = Math.max(lo, u + 1);
  const index = await targetIndex(d.control, lo, claimed);
  let found = 0;
  for (const row of intents) {
    const uids = row.content_key ? index.get(row.content_key) : undefined;
    const uid = uids?.shift();
    if (uid !== undefined) {
      await d.state.writeMessages(d.address, m.source, [{
        uid: row.source_uid, state: 'done', size: row.size, targetUid: uid, sha256: row.sha256, key: row.content_key,
        flags: JSON.parse(row.flags) as string[],
      }]);
      found++;
      report.matched++;
    } else {
      await d.state.removeMessages(d.address, m.source, [row.source_uid]);
    }
  }
  logEvent(d.log, 'migration.intent.resolved', { folder: m.display.source, intents: intents.length, found });
}

async function syncFlags(d: FolderDeps, m: FolderMapping, rows: Map<number, MessageRow>, changed: { uid: number; flags: string[] }[], report: FolderReport): Promise<MessageMeta[]> {
  const undeleted: MessageMeta[] = [];
  for (const c of changed) {
    const row = rows.get(c.uid);
    if (!row) continue;
    if (row.state === 'skipped' && !isDeleted(c.flags)) {
      undeleted.push({ uid: c.uid, size: row.size, flags: c.flags });
      continue;
    }
    if (row.state !== 'done' || row.target_uid === null) continue;
    const want = copyableFlags(c.flags);
    if (sameFlags(want, JSON.parse(row.flags) as string[])) continue;
    await d.control.messageFlagsSet(String(row.target_uid), want, { uid: true });
    await d.state.setFlags(d.address, m.source, c.uid, want);
    report.flagsUpdated++;
  }
  return undeleted;
}

async function deleteExpunged(d: FolderDeps, m: FolderMapping, rows: Map<number, MessageRow>, sourceUids: Set<number>, report: FolderReport): Promise<void> {
  const gone = [...rows.values()].filter((r) => !sourceUids.has(r.source_uid));
  const targetUids = gone.filter((r) => r.state === 'done' && r.target_uid !== null).map((r) => r.target_uid!);
  if (targetUids.length > 0) await d.control.messageDelete(targetUids.join(','), { uid: true });
  await d.state.removeMessages(d.address, m.source, gone.map((r) => r.source_uid));
  report.deletedOnTarget += targetUids.length;
}

export interface FolderResult { report: FolderReport; refusals: Refusal[] }

export async function syncFolder(d: FolderDeps, m: FolderMapping): Promise<FolderResult> {
  const src = await d.source.mailboxOpen(clientPath(m.source), { readOnly: true });
  const tgt = await d.control.mailboxOpen(clientPath(m.target));
  const uidValidity = Number(src.uidValidity);
  const modseq = src.highestModseq;
  let stored = await d.state.folder(d.address, m.source);
  const refusals: Refusal[] = [];
  let mode: FolderReport['mode'] = 'copy';
  if (stored && stored.uid_validity !== uidValidity) {
    await d.state.forgetMessages(d.address, m.source);
    stored = undefined;
    mode = 'reconcile';
  } else if (stored) mode = 'delta';
  else if (tgt.exists > 0) mode = 'reconcile';
  const report: FolderReport = { source: m.display.source, target: m.display.target, mode, ...(m.merged ? { merged: true } : {}), ...emptyCounts() };
  // The folder row comes first: claimedTargetUids joins through it.
  if (!stored) {
    await d.state.saveFolder({ address: d.address, source_folder: m.source, target_folder: m.target, uid_validity: uidValidity,
      target_uid_validity: Number(tgt.uidValidity), highest_uid: 0, highest_modseq: null });
  }
  const intents = await d.state.messages(d.address, m.source, 'intent');
  if (intents.length > 0) await resolveIntents(d, m, intents, report);

  const highest = stored?.highest_uid ?? 0;
  const known = new Map((await d.state.messages(d.address, m.source)).map((r) => [r.source_uid, r]));
  const fresh = (await fetchMeta(d.source, highest + 1)).filter((x) => !known.has(x.uid));
  let extra: MessageMeta[] = [];
  if (mode === 'delta' && known.size > 0) {
    const useModseq = stored?.highest_modseq && modseq !== undefined && !d.deleteOnTarget;
    const changed = await fetchFlags(d.source, useModseq ? BigInt(stored!.highest_modseq!) : undefined);
    extra = await syncFlags(d, m, known, changed, report);
    if (d.deleteOnTarget) await deleteExpunged(d, m, known, new Set(changed.map((c) => c.uid)), report);
    if (extra.length > 0) extra = (await fetchMeta(d.source, 1)).filter((x) => extra.some((e) => e.uid === x.uid));
  }
  const skipped = fresh.filter((x) => d.skipDeleted && isDeleted(x.flags));
  const toCopy = [...extra, ...fresh.filter((x) => !(d.skipDeleted && isDeleted(x.flags)))];
  report.seen = toCopy.length;
  report.skippedDeleted = skipped.length;
  await d.state.writeMessages(d.address, m.source, skipped.map((x) => ({ uid: x.uid, state: 'skipped', size: x.size, flags: copyableFlags(x.flags) })));

  let match: CopyContext['match'];
  if (mode === 'reconcile') {
    const index = await targetIndex(d.control, 1, await d.state.claimedTargetUids(d.address, m.target));
    match = contentMatcher(d.control, index);
    logEvent(d.log, 'migration.folder.reconciled', { folder: m.display.source, targetMessages: tgt.exists });
  }
  await copyMessages({
    address: d.address, sourceWire: m.source, target: { wire: m.target, path: clientPath(m.target) }, source: d.source, appenders: d.appenders,
    state: d.state, counts: report, refusals, ...(d.maxSize !== undefined ? { maxSize: d.maxSize } : {}),
    ...(match ? { match } : {}), ...(d.batchMessages ? { batchMessages: d.batchMessages } : {}), onBatch: (n, b) => d.onBatch?.(m.display.source, n, b),
  }, toCopy);
  if (match) await fixMatchedFlags(d, m, toCopy, report);
  const top = fresh.reduce((n, x) => Math.max(n, x.uid), highest);
  await d.state.saveFolder({ address: d.address, source_folder: m.source, target_folder: m.target, uid_validity: uidValidity,
    target_uid_validity: Number(tgt.uidValidity), highest_uid: top, highest_modseq: modseq !== undefined ? String(modseq) : null });
  return { report, refusals };
}

/** After a reconcile, messages found by content get the source's flags. */
async function fixMatchedFlags(d: FolderDeps, m: FolderMapping, metas: readonly MessageMeta[], report: FolderReport): Promise<void> {
  const rows = new Map((await d.state.messages(d.address, m.source, 'done')).map((r) => [r.source_uid, r]));
  const targetFlags = new Map((await fetchFlags(d.control)).map((x) => [x.uid, copyableFlags(x.flags)]));
  for (const meta of metas) {
    const row = rows.get(meta.uid);
    if (!row || row.target_uid === null) continue;
    const want = copyableFlags(meta.flags);
    const have = targetFlags.get(row.target_uid);
    if (!have || sameFlags(want, have)) continue;
    await d.control.messageFlagsSet(String(row.target_uid), want, { uid: true });
    report.flagsUpdated++;
  }
}
