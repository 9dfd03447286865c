/**
 * Group commit, two kinds.
 *
 * DirSync: a new file's name is durable once its folder is fsync'd. Every
 * caller waits for one directory fsync that *started after* its call; while
 * one fsync runs, the callers that arrive meanwhile share the next one.
 *
 * Batcher: appends (message records to a segment, state lines to the journal)
 * that arrive while one write+fdatasync runs share the next one. Measured on
 * the development machine (ext4, virtio disk, 5 KB messages, 20 writers): one
 * file per message with its own fdatasync and a per-message state log reached
 * about 470 messages/s through enqueue, state update and remove; appends to a
 * shared segment and journal about 2,000/s.
 */
import { open } from 'node:fs/promises';

export type SyncFn = (dir: string) => Promise<void>;

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class DirSync {
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;
  /** How many fsyncs ran, and how many callers they served (the batching factor). */
  readonly stats = { syncs: 0, callers: 0 };

  constructor(private readonly dir: string, private readonly syncFn: SyncFn = fsyncDir) {}

  /** Resolves when a directory fsync that started after this call has finished. */
  sync(): Promise<void> {
    this.stats.callers++;
    if (this.#next) return this.#next;
    const after = this.#running ?? Promise.resolve();
    const next: Promise<void> = after.catch(() => undefined).then(() => {
      this.#next = undefined;
      this.stats.syncs++;
      const run = this.syncFn(this.dir);
      this.#running = run;
      return run.finally(() => {
        if (this.#running === run) this.#running = undefined;
      });
    });
    this.#next = next;
    return next;
  }
}

/**
 * Group commit of appends: callers submit items; one flush (a write and one
 * fdatasync, done by `flush`) serves every item that arrived while the
 * previous flush ran. Items are flushed in submission order; a failed flush
 * rejects exactly the callers of its batch.
 */
export class Batcher<T> {
  #pending: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #running = false;
  /** How many flushes ran, and how many items they carried (the batching factor). */
  readonly stats = { syncs: 0, callers: 0 };

  constructor(private readonly flush: (items: T[]) => Promise<void>) {}

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      this.stats.syncs++;
      this.stats.callers += batch.length;
      try {
        await this.flush(batch.map((b) => b.item));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.#running = false;
  }
}
