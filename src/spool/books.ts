/**
 * The spool's books, in memory: the queued messages, where the bytes of each
 * lie (a file of its own, or a record in a segment), which segments still hold
 * queued or removed messages, and which removed ids the journal must keep
 * mentioning (tombstones) until no copy of their bytes is left on disk.
 *
 * The unlinks live here too, because each one settles the books: every path
 * that removes bytes (remove, maintain, a segment sealed empty, the cleanup at
 * open) goes through the same few methods, so a tombstone is let go only once
 * the last copy is gone.
 */
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FaultHook } from './options.js';
import { RecentBodies } from './recent.js';
import { SegmentReaders } from './segment.js';
import type { QueuedMessage } from './types.js';

/** Where a message's bytes are: its own file, or a record inside a segment. */
export type Location = { kind: 'file' } | { kind: 'seg'; seg: string; offset: number; length: number; bodyOffset: number };

export class SpoolBooks {
  readonly messages = new Map<string, QueuedMessage>();
  readonly loc = new Map<string, Location>();
  /** Per segment: the ids still queued in it, and the removed ids whose bytes it still holds. */
  readonly segLive = new Map<string, Set<string>>();
  readonly segDead = new Map<string, Set<string>>();
  readonly segBorn = new Map<string, number>();
  /** Segments no longer appended to (unlinked once their live set is empty). */
  readonly sealed = new Set<string>();
  /** Removed ids the journal must keep mentioning until their bytes are gone for good (true: unlinked). */
  readonly tombstones = new Map<string, boolean>();
  /** Messages with a per-message state log of an earlier version (unlinked with the message). */
  readonly legacyState = new Set<string>();
  /**
   * Copies `<id>.msg` left in queue/ by a move out of a segment that failed after its rename (and whose
   * unlink failed too) while the message still counts as in its segment: removed with the message, and
   * until then its tombstone stays, so a restart never loads a removed message from such a copy.
   */
  readonly strays = new Set<string>();
  /** Messages being moved out of a segment: remove() waits for the move; a message being removed is not moved. */
  readonly moving = new Map<string, Promise<void>>();
  readonly removing = new Set<string>();
  /** Open segments for reading bodies (one open per segment, not per message). */
  readonly readers = new SegmentReaders();
  /** Bodies of messages just queued, for their first delivery without a read (recent.ts). */
  readonly recent = new RecentBodies(32 * 1024 * 1024);
  /** The last error of background work (compaction, segment unlink); surfaced by maintain(). */
  backgroundError: unknown;

  constructor(readonly queueDir: string, private readonly fault?: FaultHook) {}

  /** Keeps the error of background work for maintain() to report (a `.catch` handler). */
  readonly keepError = (err: unknown): void => { this.backgroundError = err; };

  /** How many messages are still queued in a segment. */
  liveIn(seg: string): number {
    return this.segLive.get(seg)?.size ?? 0;
  }

  /** Starts the books of a segment at its first batch (born now). */
  track(seg: string, now: () => number): void {
    if (this.segLive.has(seg)) return;
    this.segLive.set(seg, new Set());
    this.segDead.set(seg, new Set());
    this.segBorn.set(seg, now());
  }

  /** Drops a message from memory; its bytes stay (tombstoned) until unlinked. */
  forget(id: string): void {
    this.messages.delete(id);
    this.recent.delete(id);
    const loc = this.loc.get(id);
    if (loc?.kind === 'seg') {
      this.segLive.get(loc.seg)?.delete(id);
      this.segDead.get(loc.seg)?.add(id);
    }
    this.tombstones.set(id, false);
  }

  /** A removed message's tombstone may leave the journal only once no copy of its bytes is left: no file, no segment record. */
  markGone(id: string): void {
    if (!this.tombstones.has(id) || this.loc.has(id) || this.strays.has(id)) return;
    for (const dead of this.segDead.values()) if (dead.has(id)) return;
    this.tombstones.set(id, true);
  }

  /** The segment writer stopped appending to `name`: unlinked at once when nothing queued is left in it. */
  onSeal(name: string): void {
    this.sealed.add(name);
    if (this.liveIn(name) === 0) {
      this.unlinkSegment(name).catch(this.keepError);
    }
  }

  async unlinkSegment(name: string): Promise<void> {
    if (!this.sealed.delete(name)) return;
    const path = join(this.queueDir, name);
    try {
      await this.fault?.('segment.unlink', path);
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Still on disk with its records: kept in the books (and its removed ids tombstoned) until a retry in maintain().
        this.sealed.add(name);
        throw err;
      }
    }
    this.readers.drop(path);
    const dead = this.segDead.get(name) ?? new Set<string>();
    this.segLive.delete(name);
    this.segDead.delete(name);
    this.segBorn.delete(name);
    for (const id of dead) {
      const loc = this.loc.get(id);
      // A dead record may be a message that lives on in its own file: that location stays.
      if (loc?.kind === 'seg' && loc.seg === name) this.loc.delete(id);
      this.markGone(id);
    }
  }

  async unlinkFile(id: string): Promise<void> {
    await unlink(join(this.queueDir, `${id}.msg`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    if (this.legacyState.delete(id)) await unlink(join(this.queueDir, `${id}.state`)).catch(() => undefined);
    this.loc.delete(id);
    this.markGone(id);
  }

  /** Unlinks a stray copy (see strays); a failure leaves it for the next maintain(). */
  async unlinkStray(id: string): Promise<void> {
    try {
      await unlink(join(this.queueDir, `${id}.msg`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.backgroundError = err;
        return;
      }
    }
    this.strays.delete(id);
    this.markGone(id);
  }
}
