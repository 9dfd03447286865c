/**
 * One folder of one user, one pass. Decides the mode from the stored state:
 *   copy      no state and an empty target folder: copy everything;
 *   delta     same UIDVALIDITY: resolve crash intents, copy UIDs above the
 *             highest done, update changed flags (CONDSTORE CHANGEDSINCE when
 *             the source has it, else a FLAGS fetch), delete on the target what
 *             the source expunged (only with deleteOnTarget: with QRESYNC, the
 *             UIDs VANISHED since the last pass's MODSEQ, else the source's UID
 *             list against the state);
 *   reconcile no state (lost) or a new UIDVALIDITY but messages on the target:
 *             every source message is looked up on the target by content
 *             (Message-ID + size + header hash; full hash when there is no
 *             Message-ID) before it is appended. Never deletes anything.
 */
import type { ImapFlow } from 'imapflow';
import type { Logger } from '../observe/index.js';
import { logEvent } from '../observe/index.js';
import type { FolderMapping } from '../protocol/imap/index.js';
import { ContentIndex, contentId, contentKeyOf, copyableFlags, headerBlock, messageId } from './content.js';
import { copyMessages, startCopy, type Appender, type CopyContext } from './copier.js';
import { clientPath } from './folders.js';
import { fetchBodies, type MessageMeta } from './imap-ops.js';
import { uidSet } from './raw-imap.js';
import type { FolderReader, SharedReader } from './shared-reader.js';
import type { MessageRow, MigrationState } from './state.js';
import { emptyCounts, type DroppedKeywords, type FolderReport, type Refusal } from './types.js';
import { PAGE, deleteExpunged, deleteVanished, fixMatchedFlags, isDeleted, selector, syncFlags, type Selected } from './target-changes.js';
import { listUids } from './imap-ops.js';

export interface FolderDeps {
  address: string;
  /** The source reader (raw-imap.ts), maybe shared with other lanes (shared-reader.ts): EXAMINE, UID SEARCH, metadata and body FETCHes. */
  reader: SharedReader;
  /** Target session that SELECTs the target folder when a pass needs it (flag updates, index, deletes): opened on first use. */
  control: () => Promise<ImapFlow>;
  /**
   * A target folder's STATUS (MESSAGES UIDVALIDITY) without SELECT, e.g. on the APPEND connection (appender.ts);
   * undefined (or an undefined answer) falls back to SELECTing it on the control session.
   */
  targetStatus?: (wire: string) => Promise<{ exists: number; uidValidity: number } | undefined>;
  appenders: readonly Appender[];
  state: MigrationState;
  log: Logger;
  skipDeleted: boolean;
  deleteOnTarget: boolean;
  maxSize?: number;
  batchMessages?: number;
  /** UIDs whose metadata is fetched and checked against the state at once (default 2,000). */
  windowMessages?: number;
  onBatch?: (folder: string, messages: number, bytes: number) => void;
}

/**
 * Content keys (UID, RFC822.SIZE, BODY.PEEK[HEADER]) of the target folder's messages, UIDs the state already
 * gives to a source message left out, read in UID windows (the claimed UIDs too) into a packed index
 * (content.ts ContentIndex): no object per target message.
 */
async function targetIndex(d: FolderDeps, m: FolderMapping, window: number, control: ImapFlow): Promise<ContentIndex> {
  const index = new ContentIndex();
  if (control.mailbox && control.mailbox.exists === 0) return index;
  const uids = await listUids(control);
  for (let i = 0; i < uids.length; i += window) {
    const span = uids.subarray(i, i + window);
    const claimed = await d.state.claimedTargetUidsIn(d.address, m.target, span[0]!, span[span.length - 1]!);
    const w = Array.from(span).filter((u) => !claimed.has(u));
    if (w.length === 0) continue;
    const keys = new Map<number, string>();
    for (const x of await control.fetchAll(uidSet(w), { uid: true, size: true, headers: true }, { uid: true })) {
      const header = headerBlock(x.headers ?? Buffer.alloc(0));
      keys.set(x.uid, contentKeyOf(x.size ?? 0, header, messageId(header)));
    }
    // In UID order, so a key's candidates are taken lowest UID first.
    for (const u of w) {
      const k = keys.get(u);
      if (k !== undefined) index.add(k, u);
    }
  }
  return index;
}

/** Finds a source message on the target by content, consuming the match so two equal messages map to two target messages. */
function contentMatcher(control: ImapFlow, index: ContentIndex): NonNullable<CopyContext['match']> {
  return async (body) => {
    const id = contentId(body);
    // With a Message-ID the key is strong: the first candidate is the match.
    if (id.messageId) return index.take(id.key);
    for (const uid of index.candidates(id.key)) {
      // Without a Message-ID the key is weak (size + headers): confirm with the full hash.
      const t = (await fetchBodies(control, [uid])).get(uid);
      if (!t) continue;
      const ts = contentId(t).sha256;
      if (ts !== id.sha256 && ts !== id.normalizedSha256) continue;
      index.consume(id.key, uid);
      return uid;
    }
    return undefined;
  };
}

/** Crash recovery: each intent's message is either on the target (found by content) or gets appended again. */
async function resolveIntents(d: FolderDeps, m: FolderMapping, intents: MessageRow[], report: FolderReport, ctl: Selected): Promise<void> {
  // Every unclaimed target message, not only those above the highest claimed UID: with several appenders and
  // pipelined batches, an intent's APPEND can get a lower UID than a later batch's recorded result.
  const index = await targetIndex(d, m, d.windowMessages ?? PAGE, await ctl());
  let found = 0;
  for (const row of intents) {
    const uid = row.content_key ? index.take(row.content_key) : undefined;
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
  // Every intent now has its row (done) or none (copied again below): the batch records are spent.
  await d.state.clearIntents(d.address, m.source);
  logEvent(d.log, 'migration.intent.resolved', { folder: m.display.source, intents: intents.length, found });
}

/**
 * The target folder's UIDVALIDITY and message count: STATUS on the APPEND connection where there is one (no
 * SELECT, and no imapflow round trip, for a folder that only gets new messages), else a SELECT.
 */
async function targetState(d: FolderDeps, m: FolderMapping, ctl: Selected): Promise<{ exists: number; uidValidity: number }> {
  const st = d.targetStatus ? await d.targetStatus(m.target) : undefined;
  if (st) return st;
  const c = await ctl();
  const box = c.mailbox;
  if (!box) throw new Error(`target folder ${clientPath(m.target)} is not selected`);
  return { exists: box.exists, uidValidity: Number(box.uidValidity) };
}

/**
 * A folder's pass, returned once everything is read from the source and the last APPENDs are sent. `done`
 * resolves once those are answered and the folder's state is saved: the report is final then.
 */
export interface FolderResult { report: FolderReport; refusals: Refusal[]; dropped: DroppedKeywords[]; done: Promise<void> }

function windows<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** FLAGS of `set` (CHANGEDSINCE when given): small items, one window at a time. */
async function fetchFlagsRaw(reader: FolderReader, set: string, changedSince?: bigint): Promise<{ uid: number; flags: string[] }[]> {
  const out = new Map<number, string[]>();
  await reader.fetch(set, 'UID FLAGS', (x) => { if (x.flags) out.set(x.uid, x.flags); }, undefined,
    changedSince !== undefined ? ` (CHANGEDSINCE ${changedSince})` : '');
  return [...out].map(([uid, flags]) => ({ uid, flags }));
}

/**
 * One source folder into its target folder. The reader is pinned to the folder while it reads the folder's
 * metadata, and let go once the first body FETCHes are sent (shared-reader.ts), or when the folder ends.
 */
export async function syncFolder(d: FolderDeps, m: FolderMapping): Promise<FolderResult> {
  const r = d.reader.folder(m.source);
  r.pin();
  try {
    return await syncPinned(d, m, r);
  } finally {
    r.unpin();
  }
}

async function syncPinned(d: FolderDeps, m: FolderMapping, reader: FolderReader): Promise<FolderResult> {
  let stored = await d.state.folder(d.address, m.source);
  // QRESYNC (RFC 7162 3.2.5): with deleteOnTarget, EXAMINE names the last pass's UIDVALIDITY and MODSEQ and the
  // server answers with the UIDs expunged since (VANISHED (EARLIER)): no listing of every source UID. ENABLE goes
  // out on the reader's first folder, before its first EXAMINE (RFC 5161 allows it only in the authenticated state).
  const canQresync = d.deleteOnTarget && await reader.enableQresync();
  const qresync = canQresync && stored && stored.highest_uid > 0 && stored.highest_modseq
    ? { uidValidity: stored.uid_validity, modseq: BigInt(stored.highest_modseq) } : undefined;
  const src = await reader.examine(qresync);
  const uidValidity = src.uidValidity;
  const modseq = src.highestModseq;
  const refusals: Refusal[] = [];
  const dropped: DroppedKeywords[] = [];
  // CONDSTORE (RFC 7162 3.1.2.1): every change to the folder, new messages, flag changes and expunges, raises
  // HIGHESTMODSEQ. The same value as after the last pass means nothing to do: no FETCH, no SELECT on the target,
  // one state read. With deleteOnTarget, expunges of an earlier pass run without it may still be pending: then
  // the row count must match too. (An intent left by a crash makes the count differ or the modseq unsaved.)
  if (stored && stored.uid_validity === uidValidity && modseq !== undefined && stored.highest_modseq === String(modseq)
    && (await d.state.intents(d.address, m.source)).length === 0
    && (!d.deleteOnTarget || await d.state.countMessages(d.address, m.source) === src.exists)) {
    logEvent(d.log, 'migration.folder.unchanged', { folder: m.display.source, modseq: String(modseq) });
    return { report: { source: m.display.source, target: m.display.target, mode: 'delta', ...(m.merged ? { merged: true } : {}), ...emptyCounts() }, refusals, dropped,
      done: Promise.resolve() };
  }
  const ctl = selector(d.control, clientPath(m.target));
  const tgt = await targetState(d, m, ctl);
  let mode: FolderReport['mode'] = 'copy';
  // A new UIDVALIDITY on either side makes the stored UIDs meaningless there. On the target (the folder deleted
  // and made again, a restore) they would name other messages: flags would be set and deletes done on those.
  const targetRebuilt = stored !== undefined && stored.target_uid_validity !== null && stored.target_uid_validity !== Number(tgt.uidValidity);
  if (stored && (stored.uid_validity !== uidValidity || targetRebuilt)) {
    await d.state.forgetMessages(d.address, m.source);
    stored = undefined;
    mode = 'reconcile';
  } else if (stored) mode = 'delta';
  else if (tgt.exists > 0) mode = 'reconcile';
  const report: FolderReport = { source: m.display.source, target: m.display.target, mode, ...(m.merged ? { merged: true } : {}), ...emptyCounts() };
  // The folder row comes first: the claimed-UID queries (state.ts) join through it.
  if (!stored) {
    await d.state.saveFolder({ address: d.address, source_folder: m.source, target_folder: m.target, uid_validity: uidValidity,
      target_uid_validity: Number(tgt.uidValidity), highest_uid: 0, highest_modseq: null });
  }
  const intents = await d.state.intents(d.address, m.source);
  if (intents.length > 0) await resolveIntents(d, m, intents, report, ctl);

  const highest = stored?.highest_uid ?? 0;
  const window = d.windowMessages ?? PAGE;
  const copyCtx = (match: CopyContext['match']): CopyContext => ({
    address: d.address, sourceWire: m.source, target: { wire: m.target, path: clientPath(m.target) }, source: reader, appenders: d.appenders,
    state: d.state, counts: report, refusals, dropped, ...(d.maxSize !== undefined ? { maxSize: d.maxSize } : {}),
    ...(match ? { match } : {}), ...(d.batchMessages ? { batchMessages: d.batchMessages } : {}), onBatch: (n, b) => d.onBatch?.(m.display.source, n, b),
  });

  // Only numbers for the whole folder (one array); metadata and state rows one window at a time.
  const newUids = src.exists === 0 ? [] : (await reader.searchUids(`UID ${highest + 1}:*`)).filter((u) => u > highest);
  const undeleted: number[] = [];
  if (mode === 'delta' && highest > 0 && src.exists > 0) {
    const useModseq = stored?.highest_modseq && modseq !== undefined;
    if (useModseq) {
      // SEARCH MODSEQ (RFC 7162 3.1.5, ">= n", hence +1) gives only numbers; their FLAGS are fetched one window at a time.
      const since = BigInt(stored!.highest_modseq!);
      const changedUids = (await reader.searchUids(`UID 1:${highest} MODSEQ ${since + 1n}`)).filter((u) => u <= highest);
      for (const w of windows(changedUids, window)) {
        undeleted.push(...await syncFlags(d, m, (await fetchFlagsRaw(reader, uidSet(w), since)).filter((c) => c.uid <= highest), report, ctl));
      }
    } else {
      const old = await reader.searchUids(`UID 1:${highest}`);
      for (const w of windows(old.filter((u) => u <= highest), window)) {
        undeleted.push(...await syncFlags(d, m, await fetchFlagsRaw(reader, uidSet(w)), report, ctl));
      }
    }
    if (d.deleteOnTarget) {
      const vanished = qresync && src.vanished !== undefined && modseq !== undefined ? src.vanished : undefined;
      if (vanished === undefined || !await deleteVanished(d, m, vanished, highest, src.exists - newUids.length, report, ctl)) {
        await deleteExpunged(d, m, await reader.searchUids('ALL'), report, ctl);
      }
    }
  } else if (mode === 'delta' && highest > 0 && d.deleteOnTarget) {
    await deleteExpunged(d, m, [], report, ctl);
  }

  let match: CopyContext['match'];
  if (mode === 'reconcile') {
    const control = await ctl();
    const index = await targetIndex(d, m, window, control);
    match = contentMatcher(control, index);
    logEvent(d.log, 'migration.folder.reconciled', { folder: m.display.source, targetMessages: tgt.exists });
  }
  // The APPENDs of the windows copied so far, answered and recorded: a window's copy starts while the one before
  // is still being saved on the target (disjoint UIDs); a reconcile waits for each, as its flags fix reads the rows.
  let answered: Promise<void> = Promise.resolve();
  const copyWindow = async (metas: MessageMeta[], fresh: boolean): Promise<void> => {
    const known = fresh && metas.length > 0 ? new Set((await d.state.messagesByUids(d.address, m.source, metas.map((x) => x.uid))).map((r) => r.source_uid)) : new Set<number>();
    const todo = metas.filter((x) => !known.has(x.uid));
    const skipped = todo.filter((x) => d.skipDeleted && isDeleted(x.flags));
    const toCopy = todo.filter((x) => !(d.skipDeleted && isDeleted(x.flags)));
    report.seen += toCopy.length;
    report.skippedDeleted += skipped.length;
    await d.state.writeMessages(d.address, m.source, skipped.map((x) => ({ uid: x.uid, state: 'skipped', size: x.size, flags: copyableFlags(x.flags) })));
    if (match) {
      await copyMessages(copyCtx(match), toCopy);
      await fixMatchedFlags(d, m, toCopy, report, ctl);
      return;
    }
    const sent = await startCopy(copyCtx(undefined), toCopy);
    const before = answered;
    answered = before.then(() => sent.answered);
    answered.catch(() => undefined);
  };
  try {
    for (const w of windows(undeleted, window)) await copyWindow(await reader.fetchMeta(uidSet(w)), false);
    for (const w of windows(newUids, window)) await copyWindow(await reader.fetchMeta(uidSet(w)), true);
  } catch (err) {
    // The windows already sent are answered (or fail) first: no state write of this pass comes after its failure.
    await answered.catch(() => undefined);
    throw err;
  }

  const top = newUids.reduce((n, u) => Math.max(n, u), highest);
  // The new highest UID only once every copy up to it is recorded: a crash before leaves intents, resolved by content.
  const done = answered.then(() => d.state.saveFolder({ address: d.address, source_folder: m.source, target_folder: m.target, uid_validity: uidValidity,
    target_uid_validity: Number(tgt.uidValidity), highest_uid: top, highest_modseq: modseq !== undefined ? String(modseq) : null }));
  done.catch(() => undefined);
  return { report, refusals, dropped, done };
}
