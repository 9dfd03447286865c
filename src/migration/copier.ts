/**
 * The copy loop of one folder: batches of UIDs fetched in one UID FETCH
 * (BODY.PEEK[]), each batch's intents written to the store, the APPENDs spread
 * over several target connections, then the results written. The next batch is
 * fetched while the current one is appended, and a batch is bounded in messages
 * and bytes, so memory stays flat whatever the mailbox size.
 *
 * Crash safety: before a batch's APPENDs, one intent record holds its messages
 * (UID, size, hash, content key, flags); their results replace it, in one
 * transaction, as 'done' rows (with the APPENDUID); a restart finds an intent's
 * message on the target by content instead of appending it twice (sync-folder).
 */
import { contentId, copyableFlags } from './content.js';
import type { AppendOutcome, MessageMeta } from './imap-ops.js';
import type { MessageWrite, MigrationState } from './state.js';
import type { DroppedKeywords, FolderCounts, Refusal } from './types.js';
import { isAtomFlag } from './appender.js';

export interface CopyContext {
  address: string;
  /** Source wire name (state key). */
  sourceWire: string;
  /** The target folder: wire name and UTF-8 path (imapflow). */
  target: AppendFolder;
  /** The source reader, with the source folder EXAMINEd (raw-imap.ts): bodies are fetched through it. */
  source: { fetchBodies(uids: readonly number[]): Promise<Map<number, Buffer>>; unpin?(): void };
  appenders: readonly Appender[];
  state: MigrationState;
  counts: FolderCounts;
  refusals: Refusal[];
  /** Messages whose keywords are not all IMAP atoms: copied without those, and listed here. */
  dropped?: DroppedKeywords[];
  /** Local size limit (migration.maxMessageSize, the target's APPENDLIMIT). */
  maxSize?: number;
  /** Reconcile: find the message on the target by content before appending (returns the target UID). */
  match?: (body: Buffer, meta: MessageMeta) => Promise<number | undefined>;
  onBatch?: (messages: number, bytes: number) => void;
  batchMessages?: number;
  batchBytes?: number;
}

/**
 * Messages per batch unless configured: one UID FETCH from the source and one MULTIAPPEND per target connection.
 * 500 rather than 200: fewer commands, transactions and state statements per message (bench/migrate (b), one
 * A/B run: 3-8% more throughput and less CPU on both sides; (a) the same within the noise); the byte bound
 * below keeps a batch of large messages small.
 */
export const DEFAULT_BATCH = 500;

/** Splits metas into batches bounded in count and bytes (a large message is a batch of its own). */
export function batches(metas: readonly MessageMeta[], maxCount: number, maxBytes: number): MessageMeta[][] {
  const out: MessageMeta[][] = [];
  let cur: MessageMeta[] = [];
  let bytes = 0;
  for (const m of metas) {
    if (cur.length > 0 && (cur.length >= maxCount || bytes + m.size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(m);
    bytes += m.size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface AppendFolder { wire: string; path: string }

/** Something that APPENDs: a pipelined connection (appender.ts) or an imapflow session. */
export interface Appender {
  /** `date`: RFC 3501 date-time text (MessageMeta.internalDate). */
  append(folder: AppendFolder, body: Buffer, flags: string[], date?: string): Promise<AppendOutcome>;
  /** Several messages in one command (MULTIAPPEND), outcomes in order. */
  appendMany?(folder: AppendFolder, items: { body: Buffer; flags: string[]; date?: string }[]): Promise<AppendOutcome[]>;
}

interface Pending { meta: MessageMeta; body: Buffer; flags: string[]; write: MessageWrite }

/** Records one APPEND's outcome. */
function settle(ctx: CopyContext, p: Pending, r: AppendOutcome, results: MessageWrite[]): void {
  if (r.ok) {
    results.push({ ...p.write, state: 'done', targetUid: r.uid });
    ctx.counts.appended++;
    ctx.counts.appendedBytes += p.body.length;
  } else {
    results.push({ ...p.write, state: 'refused', detail: r.reason });
    ctx.counts.refused++;
    ctx.refusals.push({ folder: ctx.sourceWire, uid: p.meta.uid, size: p.meta.size, reason: r.reason });
  }
}

/**
 * The batch is split into one contiguous chunk per appender; a chunk goes out
 * as one MULTIAPPEND where offered, else as separate (pipelined or queued) APPENDs.
 */
async function appendBatch(ctx: CopyContext, pending: Pending[]): Promise<MessageWrite[]> {
  const results: MessageWrite[] = [];
  const n = ctx.appenders.length;
  const size = Math.ceil(pending.length / n);
  await Promise.all(ctx.appenders.map(async (a, i) => {
    const chunk = pending.slice(i * size, (i + 1) * size);
    if (chunk.length === 0) return;
    if (a.appendMany) {
      const rs = await a.appendMany(ctx.target, chunk.map((p) => ({ body: p.body, flags: p.flags, ...(p.meta.internalDate ? { date: p.meta.internalDate } : {}) })));
      chunk.forEach((p, j) => settle(ctx, p, rs[j]!, results));
      return;
    }
    await Promise.all(chunk.map(async (p) => settle(ctx, p, await a.append(ctx.target, p.body, p.flags, p.meta.internalDate), results)));
  }));
  return results;
}

/** Prepares one fetched batch: local refusals, reconcile matches, intents for the rest. */
async function prepare(ctx: CopyContext, batch: MessageMeta[], bodies: Map<number, Buffer>): Promise<{ pending: Pending[]; settled: MessageWrite[] }> {
  const pending: Pending[] = [];
  const settled: MessageWrite[] = [];
  for (const meta of batch) {
    const body = bodies.get(meta.uid);
    // Expunged between the metadata FETCH and this one: nothing to copy.
    if (!body) continue;
    const p = pendingOf(ctx, meta, body);
    const matched = ctx.match ? await ctx.match(body, meta) : undefined;
    if (matched !== undefined) {
      settled.push({ ...p.write, state: 'done', targetUid: matched });
      ctx.counts.matched++;
      continue;
    }
    pending.push(p);
  }
  return { pending, settled };
}

/** One message's intent: its hash and content key, and the flags that can be sent (the others reported as dropped). */
function pendingOf(ctx: CopyContext, meta: MessageMeta, body: Buffer): Pending {
  const flags = copyableFlags(meta.flags);
  const id = contentId(body);
  const bad = flags.filter((f) => !isAtomFlag(f));
  const write: MessageWrite = { uid: meta.uid, state: 'intent', size: body.length, sha256: id.sha256, key: id.key, flags,
    ...(bad.length > 0 ? { detail: `keywords not copied (not IMAP atoms): ${bad.join(' ')}` } : {}) };
  if (bad.length > 0) ctx.dropped?.push({ folder: ctx.sourceWire, uid: meta.uid, keywords: bad });
  return { meta, body, flags: bad.length > 0 ? flags.filter(isAtomFlag) : flags, write };
}

/**
 * The messages to copy, and refusals for those over the size limit (counted and reported). A function of its own,
 * like the other per-message loops of the copy: V8 then optimizes this small loop, not the whole async copyMessages
 * around it (a big async function made hot by one loop was compiled, and after a deopt compiled again, at tens of
 * milliseconds each: bench/RESULTS.md, session 6).
 */
function splitBySize(ctx: CopyContext, metas: readonly MessageMeta[]): { wanted: MessageMeta[]; tooBig: MessageWrite[] } {
  const wanted: MessageMeta[] = [];
  const tooBig: MessageWrite[] = [];
  for (const m of metas) {
    if (ctx.maxSize !== undefined && m.size > ctx.maxSize) {
      const reason = `larger than the limit (${m.size} > ${ctx.maxSize} bytes)`;
      tooBig.push({ uid: m.uid, state: 'refused', size: m.size, flags: copyableFlags(m.flags), detail: reason });
      ctx.counts.refused++;
      ctx.refusals.push({ folder: ctx.sourceWire, uid: m.uid, size: m.size, reason });
    } else wanted.push(m);
  }
  return { wanted, tooBig };
}

/** Copies `metas` (already filtered: not done, not \Deleted-skipped) into the target folder. */
export async function copyMessages(ctx: CopyContext, metas: readonly MessageMeta[]): Promise<void> {
  await (await startCopy(ctx, metas)).answered;
}

/**
 * The copy of `metas`, resolved once every batch is read from the source and its APPENDs are sent; `answered`
 * resolves once the last batch's answers are recorded in the state, and the copy is done. Meanwhile the caller may
 * go on reading on the source (sync-folder.ts, the lane's next folder): the target saves while the source reads.
 */
export async function startCopy(ctx: CopyContext, metas: readonly MessageMeta[]): Promise<{ answered: Promise<void> }> {
  const { wanted, tooBig } = splitBySize(ctx, metas);
  await ctx.state.writeMessages(ctx.address, ctx.sourceWire, tooBig);
  const list = batches(wanted, ctx.batchMessages ?? DEFAULT_BATCH, ctx.batchBytes ?? 24 * 1024 * 1024);
  // Body FETCHes are pipelined: up to `ahead` batches are on their way from the source while one is appended.
  const ahead = 2;
  const fetching: Promise<Map<number, Buffer>>[] = [];
  const startFetch = (j: number) => {
    if (j >= list.length) return;
    const p = ctx.source.fetchBodies(list[j]!.map((m) => m.uid));
    // Keep the pipeline's promises observed even if an earlier batch throws first.
    p.catch(() => undefined);
    fetching[j] = p;
  };
  for (let j = 0; j < ahead; j++) startFetch(j);
  // A reader shared with other lanes may serve their folders once these are answered (shared-reader.ts).
  ctx.source.unpin?.();
  let inFlight: Promise<{ results: MessageWrite[]; count: number; bytes: number; intent: number | undefined }> | undefined;
  const finish = async (done: { results: MessageWrite[]; count: number; bytes: number; intent: number | undefined }) => {
    // The results replace the batch's intent record in one transaction.
    await ctx.state.writeMessages(ctx.address, ctx.sourceWire, done.results, done.intent !== undefined ? { clear: done.intent } : undefined);
    ctx.onBatch?.(done.count, done.bytes);
  };
  for (let i = 0; i < list.length; i++) {
    const bodies = await fetching[i]!;
    delete fetching[i];
    const batch = list[i]!;
    startFetch(i + ahead);
    const { pending, settled } = await prepare(ctx, batch, bodies);
    // Intents first (the crash rule: one record for the batch), then this batch's APPENDs go out while the previous
    // batch's answers come in.
    const intent = pending.length > 0 ? pending[0]!.write.uid : undefined;
    await ctx.state.writeMessages(ctx.address, ctx.sourceWire, settled, pending.length > 0 ? { put: pending.map((p) => p.write) } : undefined);
    const appending = appendBatch(ctx, pending).then((results) => ({ results, count: batch.length, bytes: pending.reduce((n, p) => n + p.body.length, 0), intent }));
    appending.catch(() => undefined);
    if (inFlight) await finish(await inFlight);
    inFlight = appending;
  }
  const answered = inFlight ? inFlight.then(finish) : Promise.resolve();
  // Observed here so a failure is never unhandled; the caller awaits it and gets the failure.
  answered.catch(() => undefined);
  return { answered };
}

