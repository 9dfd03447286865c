/**
 * Opening a spool: the messages of files of their own and of segments come
 * into the books, their state is replayed, damaged files and records go to
 * quarantine/ (with a .reason note), and (unless read-only) what only removed
 * messages kept on disk is cleared.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpoolBooks } from './books.js';
import { decodeMessageFile, QUEUE_ID } from './format.js';
import type { JournalRecord } from './journal.js';
import type { QuarantinedFile } from './options.js';
import { scanSegment, segmentFiles } from './segment.js';
import { finished, freshMessage, replayJournal, replayLegacy } from './state.js';

export interface LoadContext {
  books: SpoolBooks;
  quarantineDir: string;
  now: () => number;
  /** Report damage without moving anything (reporting commands). */
  readonly: boolean;
  /** What was found damaged, appended to as the load goes. */
  out: QuarantinedFile[];
}

/**
 * Loads every complete message of queue/ (listed as `names`) and replays the
 * journal over them; finished messages are forgotten. Returns the segments read.
 */
export async function loadQueue(ctx: LoadContext, names: string[], journal: JournalRecord[]): Promise<{ name: string; seq: number }[]> {
  const { books } = ctx;
  await loadFiles(ctx, names);
  const segs = await segmentFiles(books.queueDir);
  for (const s of segs) await loadSegment(ctx, s.name);
  const legacy = new Set(names.filter((n) => n.endsWith('.state')).map((n) => n.slice(0, -6)));
  for (const id of books.messages.keys()) if (legacy.has(id)) await replayLegacy(books, id);
  replayJournal(books, journal);
  for (const m of [...books.messages.values()]) {
    if (finished(m)) books.forget(m.id);
  }
  return segs;
}

/** Orphans: state logs of finished messages, files and segments holding only removed messages. */
export async function clearOrphans(books: SpoolBooks, names: string[], segs: { name: string }[]): Promise<void> {
  for (const name of names.filter((n) => n.endsWith('.state'))) {
    if (!books.messages.has(name.slice(0, -6))) await unlink(join(books.queueDir, name)).catch(() => undefined);
  }
  for (const [id, gone] of books.tombstones) {
    if (!gone && books.loc.get(id)?.kind === 'file') await books.unlinkFile(id);
  }
  for (const s of segs) books.sealed.add(s.name);
  for (const s of segs) if (books.liveIn(s.name) === 0) await books.unlinkSegment(s.name);
}

async function loadFiles(ctx: LoadContext, names: string[]): Promise<void> {
  const { books } = ctx;
  for (const name of names.filter((n) => n.endsWith('.msg')).sort()) {
    const id = name.slice(0, -4);
    const buf = await readFile(join(books.queueDir, name));
    const d = decodeMessageFile(buf);
    const reason = !d.ok ? d.reason : d.file.id !== id || !QUEUE_ID.test(id) ? 'file name does not match its queue id' : undefined;
    if (reason !== undefined || !d.ok) {
      ctx.out.push({ file: name, reason: reason ?? 'damaged' });
      if (!ctx.readonly) await quarantine(ctx, id, reason ?? 'damaged');
      continue;
    }
    books.messages.set(id, freshMessage(id, d.file.receivedAt, d.file.body.length, d.file.envelope));
    books.loc.set(id, { kind: 'file' });
  }
}

async function loadSegment(ctx: LoadContext, seg: string): Promise<void> {
  const { books } = ctx;
  let buf: Buffer;
  try {
    buf = await readFile(join(books.queueDir, seg));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // unlinked by a running gateway while we listed
    throw err;
  }
  const scan = scanSegment(buf);
  const live = new Set<string>();
  const dead = new Set<string>();
  for (const r of scan.records) {
    const id = r.file.id;
    if (!QUEUE_ID.test(id)) {
      scan.damaged.push({ offset: r.offset, length: r.length, reason: 'record has no valid queue id' });
      continue;
    }
    // Already loaded from its own file (moved out of this segment; the segment's unlink had not landed).
    if (books.messages.has(id)) {
      dead.add(id);
      continue;
    }
    books.messages.set(id, freshMessage(id, r.file.receivedAt, r.file.body.length, r.file.envelope));
    books.loc.set(id, { kind: 'seg', seg, offset: r.offset, length: r.length, bodyOffset: r.bodyOffset });
    live.add(id);
  }
  books.segLive.set(seg, live);
  books.segDead.set(seg, dead);
  books.segBorn.set(seg, ctx.now());
  for (const d of scan.damaged) {
    const file = `${seg}@${d.offset}`;
    ctx.out.push({ file, reason: d.reason });
    if (ctx.readonly) continue;
    await writeFile(join(ctx.quarantineDir, `${file}.msg`), buf.subarray(d.offset, d.offset + d.length)).catch(() => undefined);
    await writeFile(join(ctx.quarantineDir, `${file}.reason`), `${d.reason}\n`).catch(() => undefined);
  }
}

async function quarantine(ctx: LoadContext, id: string, reason: string): Promise<void> {
  for (const ext of ['.msg', '.state']) {
    await rename(join(ctx.books.queueDir, id + ext), join(ctx.quarantineDir, id + ext)).catch(() => undefined);
  }
  await writeFile(join(ctx.quarantineDir, `${id}.reason`), `${reason}\n`).catch(() => undefined);
}
