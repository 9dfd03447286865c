/**
 * The durable queue on disk. Layout under the spool folder:
 *
 *   queue/seg-<n>.log      message segments: records appended by group commit (segment.ts)
 *   queue/<id>.msg         a message in a file of its own (moved out of an old segment,
 *                          or written by an earlier version), immutable (format.ts)
 *   queue/journal-<n>.log  the state journal shared by all messages (journal.ts)
 *   queue/<id>.state       per-message state log of an earlier version (read, never written)
 *   tmp/                   files being written; never read back (emptied at start)
 *   quarantine/            damaged files or records found at start, with a .reason note
 *   control/               requests from `mailbridge queue` while a gateway runs (control-files.ts)
 *
 * enqueue() returns only after the message record is on disk (segment write,
 * fdatasync shared with the other sessions of the batch, and the folder
 * fsync'd once when the segment is new): the caller answers 250 after that,
 * never before. update() and remove() return after their journal lines are
 * synced (again one fdatasync per batch, for all messages), so a restart never
 * delivers a recipient twice unless the crash fell between the remote 250 and
 * that sync.
 *
 * This class is the public face and the two group commits; the in-memory
 * books and the unlinks that settle them are in books.ts, opening in load.ts,
 * housekeeping in maintain.ts, recipient state and the journal snapshot in
 * state.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MbError } from '../core/index.js';
import { SpoolBooks } from './books.js';
import { Batcher, DirSync, fsyncDir } from './commit.js';
import { takeControl, writeControl } from './control-files.js';
import { SpoolErrors } from './errors.js';
import { decodeMessageFile, encodeMessageParts, newQueueId } from './format.js';
import { encodeRecord, JournalWriter, readJournal, type JournalRecord } from './journal.js';
import { clearOrphans, loadQueue } from './load.js';
import { sweep } from './maintain.js';
import type { QuarantinedFile, SpoolOptions } from './options.js';
import { SegmentWriter } from './segment.js';
import { applyChange, freshMessage, snapshot } from './state.js';
import type { QueuedMessage, RecipientState, SpoolEnvelope, StateChange } from './types.js';

export type { FaultHook, QuarantinedFile, SpoolOptions } from './options.js';

function writeFailed(err: unknown, what: string): MbError {
  return new MbError(SpoolErrors.SPOOL_WRITE_FAILED, `spool: ${what} failed`, { retry: 'transient', cause: err });
}

const SEGMENT_BYTES = 8 * 1024 * 1024;
const JOURNAL_BYTES = 4 * 1024 * 1024;
const EVACUATE_AFTER_MS = 60_000;

interface SegItem { data: readonly Buffer[]; place: (seg: string, offset: number) => void }
interface JournalItem { records: JournalRecord[]; apply: () => void }

export class Spool {
  readonly queueDir: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;
  readonly controlDir: string;
  readonly #books: SpoolBooks;
  readonly #dirSync: DirSync;
  readonly #now: () => number;
  readonly #opts: SpoolOptions;
  #segments!: SegmentWriter;
  /** A batch is being written (#flushSegment), and maintain() asked to seal the current segment meanwhile. */
  #flushing = false;
  #sealWanted = false;
  #journal!: JournalWriter;
  readonly #segBatch: Batcher<SegItem>;
  readonly #journalBatch: Batcher<JournalItem>;

  private constructor(readonly dir: string, opts: SpoolOptions) {
    this.queueDir = join(dir, 'queue');
    this.tmpDir = join(dir, 'tmp');
    this.quarantineDir = join(dir, 'quarantine');
    this.controlDir = join(dir, 'control');
    const fault = opts.fault;
    this.#books = new SpoolBooks(this.queueDir, fault);
    this.#dirSync = fault ? new DirSync(this.queueDir, async (d) => { await fault('dir.sync', d); await fsyncDir(d); }) : new DirSync(this.queueDir);
    this.#now = opts.now ?? Date.now;
    this.#opts = opts;
    this.#segBatch = new Batcher((items) => this.#flushSegment(items));
    this.#journalBatch = new Batcher((items) => this.#flushJournal(items));
  }

  /** Opens (creating) the spool and loads every complete message; damaged ones go to quarantine/. */
  static async open(dir: string, opts: SpoolOptions = {}): Promise<{ spool: Spool; quarantined: QuarantinedFile[] }> {
    const spool = new Spool(dir, opts);
    const readonly = opts.readonly ?? false;
    if (!readonly) {
      for (const d of [spool.queueDir, spool.tmpDir, spool.quarantineDir, spool.controlDir]) await mkdir(d, { recursive: true });
      // A tmp file never got its 250: the client still has the message and retries.
      for (const f of await readdir(spool.tmpDir)) await unlink(join(spool.tmpDir, f)).catch(() => undefined);
    }
    const quarantined = await spool.#load(readonly);
    return { spool, quarantined };
  }

  async #load(readonly: boolean): Promise<QuarantinedFile[]> {
    const out: QuarantinedFile[] = [];
    let names: string[];
    try {
      names = await readdir(this.queueDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#initWriters(0, 0);
        return out;
      }
      throw new MbError(SpoolErrors.SPOOL_READ_FAILED, `spool: cannot read ${this.queueDir}`, { cause: err });
    }
    const journal = await readJournal(this.queueDir);
    const ctx = { books: this.#books, quarantineDir: this.quarantineDir, now: this.#now, readonly, out };
    const segs = await loadQueue(ctx, names, journal.records);
    this.#initWriters(segs.at(-1)?.seq ?? 0, journal.lastSeq);
    if (readonly) return out;
    await clearOrphans(this.#books, names, segs);
    // A fresh journal file: never append after a torn line; earlier records and unlinks compacted away.
    await this.#journal.compact().catch((err: unknown) => {
      throw writeFailed(err, 'writing the state journal');
    });
    return out;
  }

  #initWriters(segSeq: number, journalSeq: number): void {
    const syncDir = (): Promise<void> => this.#dirSync.sync();
    this.#segments = new SegmentWriter({
      dir: this.queueDir, maxBytes: this.#opts.segmentBytes ?? SEGMENT_BYTES, syncDir,
      onSeal: (name) => this.#books.onSeal(name), ...(this.#opts.writeHook ? { writeHook: this.#opts.writeHook } : {}),
    }, segSeq);
    this.#journal = new JournalWriter({
      dir: this.queueDir, compactBytes: this.#opts.journalBytes ?? JOURNAL_BYTES, syncDir,
      snapshot: () => snapshot(this.#books, syncDir, this.#now),
      ...(this.#opts.fault ? { fault: this.#opts.fault } : {}),
    }, journalSeq);
  }

  async #flushSegment(items: SegItem[]): Promise<void> {
    this.#flushing = true;
    try {
      if (this.#sealWanted) {
        // Asked for by maintain() while the previous batch was written; that batch is placed now.
        this.#sealWanted = false;
        this.#segments.seal();
      }
      const { name, offsets } = await this.#segments.append(items.map((i) => i.data));
      this.#books.track(name, this.#now);
      items.forEach((it, k) => it.place(name, offsets[k]!));
    } finally {
      this.#flushing = false;
    }
  }

  async #flushJournal(items: JournalItem[]): Promise<void> {
    await this.#journal.append(items.map((i) => i.records.map(encodeRecord).join('')).join(''));
    for (const i of items) i.apply();
    if (this.#journal.needsCompaction) {
      // The batch is durable and applied; a failed compaction is retried with the next batch.
      await this.#journal.compact().catch(this.#books.keepError);
    }
  }

  /** Makes a message durable and returns its queue id. Throws a transient SPOOL_WRITE_FAILED. */
  /** Queues a message: `body` as one buffer or as parts (headers and the rest, not joined first). */
  async enqueue(envelope: SpoolEnvelope, body: Buffer | readonly Buffer[], givenId?: string): Promise<QueuedMessage> {
    const receivedAt = this.#now();
    const id = givenId ?? this.newId();
    const bodyParts = Buffer.isBuffer(body) ? [body] : body;
    const data = encodeMessageParts({ id, receivedAt, envelope, body: bodyParts });
    const bodyLength = bodyParts.reduce((n, b) => n + b.length, 0);
    const dataLength = data.reduce((n, b) => n + b.length, 0);
    const bodyStart = dataLength - bodyLength;
    const m = freshMessage(id, receivedAt, bodyLength, envelope);
    const books = this.#books;
    try {
      await this.#segBatch.submit({
        data,
        place: (seg, offset) => {
          books.loc.set(id, { kind: 'seg', seg, offset, length: dataLength, bodyOffset: offset + bodyStart });
          books.recent.add(id, bodyParts, bodyLength);
          books.segLive.get(seg)!.add(id);
          books.messages.set(id, m);
        },
      });
    } catch (err) {
      throw writeFailed(err, `writing message ${id}`);
    }
    return m;
  }

  /** A fresh queue id (for a Received header written before enqueue). */
  newId(): string {
    return newQueueId(this.#now(), randomBytes(5));
  }

  get(id: string): QueuedMessage | undefined {
    return this.#books.messages.get(id);
  }

  list(): QueuedMessage[] {
    return [...this.#books.messages.values()];
  }

  get size(): number {
    return this.#books.messages.size;
  }

  /** Message batches written and messages in them (the group-commit factor). */
  get commitStats(): { syncs: number; callers: number } {
    return { ...this.#segBatch.stats };
  }

  /** Journal batches written and the callers they served; compactions. */
  get journalStats(): { syncs: number; callers: number; compactions: number } {
    return { ...this.#journalBatch.stats, compactions: this.#journal.stats.compactions };
  }

  /** The message bytes (without the envelope). */
  /** The body as parts: from memory while the message is recent (not copied), else read as readBody does. */
  async readBodyParts(id: string): Promise<readonly Buffer[]> {
    return this.#books.recent.get(id) ?? [await this.readBody(id)];
  }

  async readBody(id: string): Promise<Buffer> {
    const loc = this.#books.loc.get(id);
    if (loc?.kind === 'seg') {
      try {
        return await this.#books.readers.read(join(this.queueDir, loc.seg), loc.bodyOffset, loc.offset + loc.length - loc.bodyOffset);
      } catch (err) {
        // Moved to its own file meanwhile (maintain), and the segment went: read the file.
        if (this.#books.loc.get(id)?.kind !== 'file') throw new MbError(SpoolErrors.SPOOL_READ_FAILED, `spool: message ${id} cannot be read`, { cause: err });
      }
    }
    let buf: Buffer;
    try {
      buf = await readFile(join(this.queueDir, `${id}.msg`));
    } catch (err) {
      throw new MbError(SpoolErrors.SPOOL_NOT_FOUND, `spool: message ${id} not found`, { cause: err });
    }
    const d = decodeMessageFile(buf, { verify: false });
    if (!d.ok) throw new MbError(SpoolErrors.SPOOL_CORRUPT, `spool: message ${id}: ${d.reason}`);
    return d.file.body;
  }

  /**
   * Appends changes to the shared journal (group commit), then applies them in
   * memory. Durable when it resolves.
   */
  async update(id: string, changes: StateChange[]): Promise<QueuedMessage> {
    const m = this.#books.messages.get(id);
    if (!m) throw new MbError(SpoolErrors.SPOOL_NOT_FOUND, `spool: message ${id} not found`);
    const at = this.#now();
    try {
      await this.#journalBatch.submit({
        records: changes.map((c) => ({ id, at, c })),
        apply: () => { for (const c of changes) applyChange(m, c, at); },
      });
    } catch (err) {
      throw writeFailed(err, `updating the state of ${id}`);
    }
    return m;
  }

  /** Removes a finished (or deleted) message: its removal is journaled first, then its bytes go. */
  async remove(id: string): Promise<void> {
    const books = this.#books;
    // No await between this loop's last check and the removing mark: a move cannot start in between.
    while (books.moving.has(id)) await books.moving.get(id);
    if (!books.messages.has(id)) {
      // Not loaded (a read-only copy, or removed already): only a stray file of that name can go.
      await unlink(join(this.queueDir, `${id}.msg`)).catch(() => undefined);
      return;
    }
    books.removing.add(id);
    try {
      try {
        await this.#journalBatch.submit({ records: [{ id, at: this.#now(), removed: true }], apply: () => books.forget(id) });
      } catch (err) {
        throw writeFailed(err, `removing ${id}`);
      }
      const loc = books.loc.get(id);
      if (books.strays.has(id)) await books.unlinkStray(id);
      if (loc?.kind === 'file') {
        await books.unlinkFile(id).catch(books.keepError);
      } else if (loc?.kind === 'seg' && books.sealed.has(loc.seg) && books.liveIn(loc.seg) === 0) {
        await books.unlinkSegment(loc.seg).catch(books.keepError);
      }
    } finally {
      books.removing.delete(id);
    }
  }

  /**
   * Housekeeping, called every few seconds by the gateway: seals a current
   * segment that is old, and moves messages still queued out of old segments
   * into files of their own, so a deferred message does not keep a whole
   * segment on disk (maintain.ts). Throws the last background error (logged by the caller).
   */
  async maintain(): Promise<{ moved: number }> {
    const after = this.#opts.evacuateAfterMs ?? EVACUATE_AFTER_MS;
    const now = this.#now();
    const cur = this.#segments.current;
    if (cur && now - (this.#books.segBorn.get(cur) ?? now) >= after) this.#sealWanted = true;
    // Never under a batch being written: its records would land in a segment already unlinked as empty.
    if (this.#sealWanted && !this.#flushing) {
      this.#sealWanted = false;
      this.#segments.seal();
    }
    const moved = await sweep({ books: this.#books, tmpDir: this.tmpDir, dirSync: this.#dirSync, fault: this.#opts.fault, now, evacuateAfterMs: after });
    const err = this.#books.backgroundError;
    this.#books.backgroundError = undefined;
    if (err) throw writeFailed(err, 'spool housekeeping');
    return { moved };
  }

  /** Drops a control request for a running gateway (see control.ts). */
  async writeControl(request: object): Promise<void> {
    await writeControl(this.controlDir, this.#now, request);
  }

  /** Reads and removes the pending control requests, oldest first. */
  async takeControl(): Promise<unknown[]> {
    return takeControl(this.controlDir);
  }

  /** True when a recipient still waits for delivery. */
  static pending(r: RecipientState): boolean {
    return r.status === 'queued' || r.status === 'deferred';
  }

  /** Size on disk of the queued messages (for metrics). */
  async bytesOnDisk(): Promise<number> {
    let total = 0;
    for (const m of this.#books.messages.values()) {
      const loc = this.#books.loc.get(m.id);
      if (loc?.kind === 'seg') total += loc.length;
      else total += await stat(join(this.queueDir, `${m.id}.msg`)).then((s) => s.size, () => 0);
    }
    return total;
  }
}
