/**
 * A folder pass' changes to messages already on the target (sync-folder.ts): flags changed on the source, deletes
 * of what the source expunged (deleteOnTarget only), flags of messages a reconcile found by content. All of it on
 * the target's control session, with the folder SELECTed on first use.
 */
import type { ImapFlow } from 'imapflow';
import { logEvent } from '../observe/index.js';
import type { FolderMapping } from '../protocol/imap/index.js';
import { isAtomFlag } from './appender.js';
import { copyableFlags, sameFlags } from './content.js';
import type { MessageMeta } from './imap-ops.js';
import { expandSet, indexOf } from './imap-parse.js';
import { uidSet } from './raw-imap.js';
import type { FolderDeps } from './sync-folder.js';
import type { FolderReport } from './types.js';

/** State rows and UIDs handled at once. */
export const PAGE = 2000;

export const isDeleted = (flags: readonly string[]): boolean => flags.some((f) => f.toLowerCase() === '\\deleted');

/** The control session with the folder's target SELECTed: selected on first use only. */
export type Selected = () => Promise<ImapFlow>;

export function selector(open: () => Promise<ImapFlow>, path: string): Selected {
  return async () => {
    const control = await open();
    if (!control.mailbox || control.mailbox.path !== path) await control.mailboxOpen(path);
    return control;
  };
}

/** Flag changes of known messages, one window at a time; returns the \Deleted-skipped messages that are no longer \Deleted. */
export async function syncFlags(d: FolderDeps, m: FolderMapping, changed: { uid: number; flags: string[] }[], report: FolderReport, ctl: Selected): Promise<number[]> {
  const undeleted: number[] = [];
  const rows = new Map((await d.state.messagesByUids(d.address, m.source, changed.map((c) => c.uid))).map((r) => [r.source_uid, r]));
  for (const c of changed) {
    const row = rows.get(c.uid);
    if (!row) continue;
    if (row.state === 'skipped' && !isDeleted(c.flags)) {
      undeleted.push(c.uid);
      continue;
    }
    if (row.state !== 'done' || row.target_uid === null) continue;
    const want = copyableFlags(c.flags);
    if (sameFlags(want, JSON.parse(row.flags) as string[])) continue;
    await (await ctl()).messageFlagsSet(String(row.target_uid), want.filter(isAtomFlag), { uid: true });
    await d.state.setFlags(d.address, m.source, c.uid, want);
    report.flagsUpdated++;
  }
  return undeleted;
}

/** With deleteOnTarget: what the state knows but the source no longer has is deleted on the target (state read in pages). */
export async function deleteExpunged(d: FolderDeps, m: FolderMapping, sourceUids: readonly number[], report: FolderReport, ctl: Selected): Promise<void> {
  // The source's UIDs as one sorted typed array (4 bytes each), looked up by binary search.
  const sorted = Uint32Array.from(sourceUids).sort();
  const present = { has: (u: number): boolean => indexOf(sorted, u) >= 0 };
  let after = 0;
  let deleted = 0;
  for (;;) {
    const page = await d.state.messagesPage(d.address, m.source, after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1]!.source_uid;
    const gone = page.filter((r) => !present.has(r.source_uid));
    const targetUids = gone.filter((r) => r.state === 'done' && r.target_uid !== null).map((r) => r.target_uid!);
    if (targetUids.length > 0) await (await ctl()).messageDelete(uidSet(targetUids), { uid: true });
    await d.state.removeMessages(d.address, m.source, gone.map((r) => r.source_uid));
    report.deletedOnTarget += targetUids.length;
    deleted += targetUids.length;
  }
  logEvent(d.log, 'migration.folder.expunges', { folder: m.display.source, via: 'list', sourceUids: sourceUids.length, deleted });
}

/**
 * Deletes on the target what the state maps from the source UIDs in `vanished` (QRESYNC's VANISHED (EARLIER)),
 * one window of UIDs at a time. Then checks that the state now holds exactly one row per source message up to
 * `highest` (`sourceUpTo`: EXISTS less the UIDs above it): VANISHED covers only expunges since the stored MODSEQ,
 * so expunges an earlier pass without deleteOnTarget left in the state (or anything else amiss) make the counts
 * differ; then false, and the caller compares the full UID list as without QRESYNC.
 */
export async function deleteVanished(d: FolderDeps, m: FolderMapping, vanished: string, highest: number, sourceUpTo: number,
  report: FolderReport, ctl: Selected): Promise<boolean> {
  const uids = vanished ? expandSet(vanished) : new Uint32Array(0);
  let deleted = 0;
  let rowsGone = 0;
  for (let i = 0; i < uids.length; i += PAGE) {
    const rows = await d.state.messagesByUids(d.address, m.source, Array.from(uids.subarray(i, i + PAGE)));
    if (rows.length === 0) continue;
    const targetUids = rows.filter((r) => r.state === 'done' && r.target_uid !== null).map((r) => r.target_uid!);
    if (targetUids.length > 0) await (await ctl()).messageDelete(uidSet(targetUids), { uid: true });
    await d.state.removeMessages(d.address, m.source, rows.map((r) => r.source_uid));
    deleted += targetUids.length;
    rowsGone += rows.length;
  }
  report.deletedOnTarget += deleted;
  // Rows above `highest` (a crashed pass's copies, already resolved) are not part of the comparison.
  let above = 0;
  for (let after = highest; ;) {
    const page = await d.state.messagesPage(d.address, m.source, after, PAGE);
    above += page.length;
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.source_uid;
  }
  const rowsUpTo = await d.state.countMessages(d.address, m.source) - above;
  const complete = rowsUpTo === sourceUpTo;
  logEvent(d.log, 'migration.folder.expunges', { folder: m.display.source, via: 'qresync', vanished: uids.length, rows: rowsGone, deleted,
    ...(complete ? {} : { fallback: `state has ${rowsUpTo} messages up to UID ${highest}, the source ${sourceUpTo}: full UID list` }) });
  return complete;
}

/** After a reconcile, messages found by content get the source's flags. */
export async function fixMatchedFlags(d: FolderDeps, m: FolderMapping, metas: readonly MessageMeta[], report: FolderReport, ctl: Selected): Promise<void> {
  const rows = new Map((await d.state.messagesByUids(d.address, m.source, metas.map((x) => x.uid)))
    .filter((r) => r.state === 'done' && r.target_uid !== null).map((r) => [r.source_uid, r]));
  if (rows.size === 0) return;
  const targetFlags = new Map<number, string[]>();
  const control = await ctl();
  for await (const x of control.fetch(uidSet([...rows.values()].map((r) => r.target_uid!)), { uid: true, flags: true }, { uid: true })) {
    targetFlags.set(x.uid, copyableFlags(x.flags ?? []));
  }
  for (const meta of metas) {
    const row = rows.get(meta.uid);
    if (!row || row.target_uid === null) continue;
    const want = copyableFlags(meta.flags);
    const have = targetFlags.get(row.target_uid);
    if (!have || sameFlags(want, have)) continue;
    await control.messageFlagsSet(String(row.target_uid), want.filter(isAtomFlag), { uid: true });
    report.flagsUpdated++;
  }
}
