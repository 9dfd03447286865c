/**
 * Housekeeping of segments (Spool.maintain): stray copies are unlinked, sealed
 * segments with nothing queued left are unlinked (again, after a failure), and
 * messages still queued in old segments are moved into files of their own, so
 * a deferred message does not keep a whole segment on disk.
 *
 * A move is copy, fdatasync, rename into queue/, one folder sync for all, and
 * only then the books say "file". Any failure before that leaves the messages
 * counted in their segment; a copy already renamed into queue/ becomes a stray
 * (books.ts), so it can never outlive the message's removal.
 */
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpoolBooks } from './books.js';
import type { DirSync } from './commit.js';
import type { FaultHook } from './options.js';
import { readRange } from './segment.js';

export interface SweepContext {
  books: SpoolBooks;
  tmpDir: string;
  dirSync: DirSync;
  fault?: FaultHook | undefined;
  now: number;
  /** Segments older than this (ms) have their queued messages moved out. */
  evacuateAfterMs: number;
}

/** One round of housekeeping; returns how many messages were moved. Failures are kept in books.backgroundError. */
export async function sweep(ctx: SweepContext): Promise<number> {
  const { books, now } = ctx;
  for (const id of [...books.strays]) if (!books.messages.has(id) && !books.removing.has(id)) await books.unlinkStray(id);
  let moved = 0;
  for (const seg of [...books.sealed]) {
    // A segment whose unlink failed earlier: again.
    if (books.liveIn(seg) === 0) {
      await books.unlinkSegment(seg).catch(books.keepError);
      continue;
    }
    if (now - (books.segBorn.get(seg) ?? now) < ctx.evacuateAfterMs) continue;
    moved += await evacuate(ctx, seg);
  }
  return moved;
}

async function evacuate(ctx: SweepContext, seg: string): Promise<number> {
  const { books } = ctx;
  const ids = [...(books.segLive.get(seg) ?? [])].filter((id) => !books.removing.has(id) && !books.moving.has(id));
  if (ids.length === 0) return 0;
  let release!: () => void;
  const lock = new Promise<void>((r) => { release = r; });
  for (const id of ids) books.moving.set(id, lock);
  const moved: string[] = [];
  /** Renamed into queue/ (or maybe: the rename itself failed) but not yet taken into use. */
  const renamed: string[] = [];
  let applied = false;
  try {
    for (const id of ids) {
      const loc = books.loc.get(id);
      if (loc?.kind !== 'seg' || !books.messages.has(id)) continue;
      const data = await readRange(join(books.queueDir, seg), loc.offset, loc.length);
      const tmp = join(ctx.tmpDir, `${id}.msg`);
      await writeSynced(tmp, data, ctx.fault);
      renamed.push(id);
      await ctx.fault?.('evacuate.rename', tmp);
      await rename(tmp, join(books.queueDir, `${id}.msg`));
      await ctx.fault?.('evacuate.renamed', tmp);
      moved.push(id);
    }
    await ctx.dirSync.sync();
    for (const id of moved) {
      books.loc.set(id, { kind: 'file' });
      books.segLive.get(seg)?.delete(id);
      // Its record stays in the segment until the segment goes (a tombstone must outlive both copies).
      books.segDead.get(seg)?.add(id);
      books.strays.delete(id);
    }
    applied = true;
    if (books.liveIn(seg) === 0) await books.unlinkSegment(seg);
  } catch (err) {
    books.backgroundError = err;
    // The messages still count as in the segment: a copy renamed into queue/ must not outlive a removal.
    if (!applied) {
      for (const id of renamed) {
        books.strays.add(id);
        await books.unlinkStray(id);
      }
    }
  } finally {
    for (const id of ids) books.moving.delete(id);
    release();
  }
  return applied ? moved.length : 0;
}

async function writeSynced(path: string, data: Buffer, fault?: FaultHook): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    await fault?.('evacuate.write', path, data);
    await fh.writeFile(data);
    await fault?.('evacuate.sync', path);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
