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
 *   control/               requests from `mailbridge queue` while a gateway runs
 *
 * enqueue() returns only after the message record is on disk (segment write,
 * fdatasync shared with the other sessions of the batch, and the folder
 * fsync'd once when the segment is new): the caller answers 250 after that,
 * never before. update() and remove() return after their journal lines are
 * synced (again one fdatasync per batch, for all messages), so a restart never
 * delivers a recipient twice unless the crash fell between the remote 250 and
 * that sync.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MbError } from '../core/index.js';
import { Batcher, DirSync, fsyncDir } from './commit.js';
import { SpoolErrors } from './errors.js';
import { decodeMessageFile, encodeMessageParts, newQueueId, QUEUE_ID } from './format.js';
import { RecentBodies } from './recent.js';
import { encodeRecord, JournalWriter, readJournal, type JournalRecord } from './journal.js';
import { readRange, scanSegment, SegmentReaders, segmentFiles, SegmentWriter } from './segment.js';
import type { QueuedMessage, RecipientState, SpoolEnvelope, StateChange } from './types.js';

export interface SpoolOptions {
  now?: () => number;
  /** Open without changing anything (reporting commands): no quarantine moves, no tmp cleanup. */
  readonly?: boolean;
  /** Test hook: replaces the write of a batch of message records (to simulate a full disk). */
  writeHook?: (path: string, data: Buffer) => Promise<void>;
  /** Segment size before a new one is started (bytes). */
  segmentBytes?: number;
  /** Journal size before it is compacted (bytes). */
  journalBytes?: number;
  /** maintain() moves messages still queued out of segments older than this (ms). */
  evacuateAfterMs?: number;
  /**
   * Test hook (fault injection): awaited before each file step of housekeeping
   * and of folder syncs, with the step's name, its path and (for writes) the
   * bytes about to be written; throwing fails that step as a disk error would.
   */
  fault?: FaultHook;
}

/**
 * Steps: dir.sync, evacuate.write, evacuate.sync, evacuate.rename, evacuate.renamed (after the rename: an error
 * reported for a rename that took effect), segment.unlink, journal.write, journal.sync, journal.rename,
 * journal.renamed, journal.unlink.
 */
export type FaultHook = (step: string, path: string, data?: Buffer) => void | Promise<void>;

export interface QuarantinedFile {
  file: string;
  reason: string;
}

/** Where a message's bytes are: its own file, or a record inside a segment. */
type Location = { kind: 'file' } | { kind: 'seg'; seg: string; offset: number; length: number; bodyOffset: number };

function writeFailed(err: unknown, what: string): MbError {
  return new MbError(SpoolErrors.SPOOL_WRITE_FAILED, `spool: ${what} failed`, { retry: 'transient', cause: err });
}

function applyChange(m: QueuedMessage, c: StateChange, at: number): void {
  switch (c.op) {
    case 'hold': m.held = true; break;
    case 'release': m.held = false; break;
    case 'retry':
      for (const r of m.recipients) if (r.status === 'deferred' || r.status === 'queued') r.nextAttempt = at;
      break;
    case 'rcpt': {
      const r = m.recipients[c.index];
      if (r) Object.assign(r, c.state);
      break;
    }
  }
}

function freshMessage(id: string, receivedAt: number, size: number, envelope: SpoolEnvelope): QueuedMessage {
  return {
    id, receivedAt, size, envelope, held: false,
    recipients: envelope.recipients.map(() => ({ status: 'queued', attempts: 0, nextAttempt: receivedAt, updatedAt: receivedAt })),
  };
}

/** Nothing left to do: every recipient delivered, or bounced with its DSN queued. */
function finished(m: QueuedMessage): boolean {
  return m.recipients.every((r) => r.status === 'delivered' || (r.status === 'bounced' && r.failNotified === true));
}

const SEGMENT_BYTES = 8 * 1024 * 1024;
const JOURNAL_BYTES = 4 * 1024 * 1024;
const EVACUATE_AFTER_MS = 60_000;

interface SegItem { data: readonly Buffer[]; place: (seg: string, offset: number) => void }
interface JournalItem { records: JournalRecord[]; apply: () => void }

/** Orders the control requests one process writes within the same millisecond. */
let controlSeq = 0;

export class Spool {
  readonly queueDir: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;
  readonly controlDir: string;
  readonly #messages = new Map<string, QueuedMessage>();
  readonly #loc = new Map<string, Location>();
  /** Per segment: the ids still queued in it, and the removed ids whose bytes it still holds. */
  readonly #segLive = new Map<string, Set<string>>();
  readonly #segDead = new Map<string, Set<string>>();
  readonly #segBorn = new Map<string, number>();
  /** Segments no longer appended to (unlinked once their live set is empty). */
  readonly #sealed = new Set<string>();
  /** Removed ids the journal must keep mentioning until their bytes are gone for good (true: unlinked). */
  readonly #tombstones = new Map<string, boolean>();
  /** Messages with a per-message state log of an earlier version (unlinked with the message). */
  readonly #legacyState = new Set<string>();
  /**
   * Copies `<id>.msg` left in queue/ by a move out of a segment that failed after its rename (and whose
   * unlink failed too) while the message still counts as in its segment: removed with the message, and
   * until then its tombstone stays, so a restart never loads a removed message from such a copy.
   */
  readonly #strays = new Set<string>();
  /** Messages being moved out of a segment: remove() waits for the move; a message being removed is not moved. */
  readonly #moving = new Map<string, Promise<void>>();
  readonly #removing = new Set<string>();
  readonly #dirSync: DirSync;
  /** Open segments for reading bodies (one open per segment, not per message). */
  readonly #readers = new SegmentReaders();
  readonly #now: () => number;
  readonly #opts: SpoolOptions;
  #segments!: SegmentWriter;
  /** A batch is being written (#flushSegment), and maintain() asked to seal the current segment meanwhile. */
  #flushing = false;
  #sealWanted = false;
  #journal!: JournalWriter;
  readonly #segBatch: Batcher<SegItem>;
  /** Bodies of messages just queued, for their first delivery without a read (recent.ts). */
  readonly #recent = new RecentBodies(32 * 1024 * 1024);
  readonly #journalBatch: Batcher<JournalItem>;
  /** The last error of background work (compaction, segment unlink); surfaced by maintain(). */
  #backgroundError: unknown;

  private constructor(readonly dir: string, opts: SpoolOptions) {
    this.queueDir = join(dir, 'queue');
    this.tmpDir = join(dir, 'tmp');
    this.quarantineDir = join(dir, 'quarantine');
    this.controlDir = join(dir, 'control');
    const fault = opts.fault;
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
    await this.#loadFiles(names, readonly, out);
    const segs = await segmentFiles(this.queueDir);
    for (const s of segs) await this.#loadSegment(s.name, readonly, out);
    const legacy = new Set(names.filter((n) => n.endsWith('.state')).map((n) => n.slice(0, -6)));
    for (const id of this.#messages.keys()) if (legacy.has(id)) await this.#replayLegacy(id);
    this.#replayJournal(journal.records);
    for (const m of [...this.#messages.values()]) {
      if (finished(m)) this.#forget(m.id);
    }
    this.#initWriters(segs.at(-1)?.seq ?? 0, journal.lastSeq);
    if (readonly) return out;
    // Orphans: state logs of finished messages, files and segments holding only removed messages.
    for (const name of names.filter((n) => n.endsWith('.state'))) {
      if (!this.#messages.has(name.slice(0, -6))) await unlink(join(this.queueDir, name)).catch(() => undefined);
    }
    for (const [id, gone] of this.#tombstones) {
      if (!gone && this.#loc.get(id)?.kind === 'file') await this.#unlinkFile(id);
    }
    for (const s of segs) this.#sealed.add(s.name);
    for (const s of segs) if ((this.#segLive.get(s.name)?.size ?? 0) === 0) await this.#unlinkSegment(s.name);
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
      onSeal: (name) => this.#onSeal(name), ...(this.#opts.writeHook ? { writeHook: this.#opts.writeHook } : {}),
    }, segSeq);
    this.#journal = new JournalWriter({
      dir: this.queueDir, compactBytes: this.#opts.journalBytes ?? JOURNAL_BYTES, syncDir, snapshot: () => this.#snapshot(),
      ...(this.#opts.fault ? { fault: this.#opts.fault } : {}),
    }, journalSeq);
  }

  async #loadFiles(names: string[], readonly: boolean, out: QuarantinedFile[]): Promise<void> {
    for (const name of names.filter((n) => n.endsWith('.msg')).sort()) {
      const id = name.slice(0, -4);
      const buf = await readFile(join(this.queueDir, name));
      const d = decodeMessageFile(buf);
      const reason = !d.ok ? d.reason : d.file.id !== id || !QUEUE_ID.test(id) ? 'file name does not match its queue id' : undefined;
      if (reason !== undefined || !d.ok) {
        out.push({ file: name, reason: reason ?? 'damaged' });
        if (!readonly) await this.#quarantine(id, reason ?? 'damaged');
        continue;
      }
      this.#messages.set(id, freshMessage(id, d.file.receivedAt, d.file.body.length, d.file.envelope));
      this.#loc.set(id, { kind: 'file' });
    }
  }

  async #loadSegment(seg: string, readonly: boolean, out: QuarantinedFile[]): Promise<void> {
    let buf: Buffer;
    try {
      buf = await readFile(join(this.queueDir, seg));
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
      if (this.#messages.has(id)) {
        dead.add(id);
        continue;
      }
      this.#messages.set(id, freshMessage(id, r.file.receivedAt, r.file.body.length, r.file.envelope));
      this.#loc.set(id, { kind: 'seg', seg, offset: r.offset, length: r.length, bodyOffset: r.bodyOffset });
      live.add(id);
    }
    this.#segLive.set(seg, live);
    this.#segDead.set(seg, dead);
    this.#segBorn.set(seg, this.#now());
    for (const d of scan.damaged) {
      const file = `${seg}@${d.offset}`;
      out.push({ file, reason: d.reason });
      if (readonly) continue;
      await writeFile(join(this.quarantineDir, `${file}.msg`), buf.subarray(d.offset, d.offset + d.length)).catch(() => undefined);
      await writeFile(join(this.quarantineDir, `${file}.reason`), `${d.reason}\n`).catch(() => undefined);
    }
  }

  async #replayLegacy(id: string): Promise<void> {
    const m = this.#messages.get(id)!;
    this.#legacyState.add(id);
    const text = await readFile(join(this.queueDir, `${id}.state`), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const rec = JSON.parse(line) as StateChange & { at: number };
        applyChange(m, rec, rec.at);
      } catch {
        // A torn last line: that change never completed its sync, so it never counted.
      }
    }
  }

  #replayJournal(records: JournalRecord[]): void {
    for (const r of records) {
      if ('removed' in r) {
        if (this.#messages.has(r.id) || this.#loc.has(r.id)) this.#forget(r.id);
        continue;
      }
      const m = this.#messages.get(r.id);
      if (!m) continue;
      if ('snap' in r) {
        m.held = r.snap.held;
        r.snap.recipients.forEach((s, i) => { if (m.recipients[i]) m.recipients[i] = { ...s }; });
      } else {
        applyChange(m, r.c, r.at);
      }
    }
  }

  /** Drops a message from memory; its bytes stay (tombstoned) until unlinked. */
  #forget(id: string): void {
    this.#messages.delete(id);
    this.#recent.delete(id);
    const loc = this.#loc.get(id);
    if (loc?.kind === 'seg') {
      this.#segLive.get(loc.seg)?.delete(id);
      this.#segDead.get(loc.seg)?.add(id);
    }
    this.#tombstones.set(id, false);
  }

  async #quarantine(id: string, reason: string): Promise<void> {
    for (const ext of ['.msg', '.state']) {
      await rename(join(this.queueDir, id + ext), join(this.quarantineDir, id + ext)).catch(() => undefined);
    }
    await writeFile(join(this.quarantineDir, `${id}.reason`), `${reason}\n`).catch(() => undefined);
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
      if (!this.#segLive.has(name)) {
        this.#segLive.set(name, new Set());
        this.#segDead.set(name, new Set());
        this.#segBorn.set(name, this.#now());
      }
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
      await this.#journal.compact().catch((err: unknown) => { this.#backgroundError = err; });
    }
  }

  /** The absolute state a fresh journal file starts with. */
  async #snapshot(): Promise<JournalRecord[]> {
    const gone = [...this.#tombstones].filter(([, g]) => g).map(([id]) => id);
    // Makes the unlinks done so far durable: only then may their tombstones go.
    await this.#dirSync.sync();
    for (const id of gone) this.#tombstones.delete(id);
    const at = this.#now();
    const out: JournalRecord[] = [];
    for (const m of this.#messages.values()) out.push({ id: m.id, at, snap: { held: m.held, recipients: m.recipients.map((r) => ({ ...r })) } });
    for (const id of this.#tombstones.keys()) out.push({ id, at, removed: true });
    return out;
  }

  #onSeal(name: string): void {
    this.#sealed.add(name);
    if ((this.#segLive.get(name)?.size ?? 0) === 0) {
      this.#unlinkSegment(name).catch((err: unknown) => { this.#backgroundError = err; });
    }
  }

  async #unlinkSegment(name: string): Promise<void> {
    if (!this.#sealed.delete(name)) return;
    const path = join(this.queueDir, name);
    try {
      await this.#opts.fault?.('segment.unlink', path);
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Still on disk with its records: kept in the books (and its removed ids tombstoned) until a retry in maintain().
        this.#sealed.add(name);
        throw err;
      }
    }
    this.#readers.drop(path);
    const dead = this.#segDead.get(name) ?? new Set<string>();
    this.#segLive.delete(name);
    this.#segDead.delete(name);
    this.#segBorn.delete(name);
    for (const id of dead) {
      const loc = this.#loc.get(id);
      // A dead record may be a message that lives on in its own file: that location stays.
      if (loc?.kind === 'seg' && loc.seg === name) this.#loc.delete(id);
      this.#markGone(id);
    }
  }

  async #unlinkFile(id: string): Promise<void> {
    await unlink(join(this.queueDir, `${id}.msg`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    if (this.#legacyState.delete(id)) await unlink(join(this.queueDir, `${id}.state`)).catch(() => undefined);
    this.#loc.delete(id);
    this.#markGone(id);
  }

  /** A removed message's tombstone may leave the journal only once no copy of its bytes is left: no file, no segment record. */
  #markGone(id: string): void {
    if (!this.#tombstones.has(id) || this.#loc.has(id) || this.#strays.has(id)) return;
    for (const dead of this.#segDead.values()) if (dead.has(id)) return;
    this.#tombstones.set(id, true);
  }

  /** Unlinks a stray copy (see #strays); a failure leaves it for the next maintain(). */
  async #unlinkStray(id: string): Promise<void> {
    try {
      await unlink(join(this.queueDir, `${id}.msg`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#backgroundError = err;
        return;
      }
    }
    this.#strays.delete(id);
    this.#markGone(id);
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
    try {
      await this.#segBatch.submit({
        data,
        place: (seg, offset) => {
          this.#loc.set(id, { kind: 'seg', seg, offset, length: dataLength, bodyOffset: offset + bodyStart });
          this.#recent.add(id, bodyParts, bodyLength);
          this.#segLive.get(seg)!.add(id);
          this.#messages.set(id, m);
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
    return this.#messages.get(id);
  }

  list(): QueuedMessage[] {
    return [...this.#messages.values()];
  }

  get size(): number {
    return this.#messages.size;
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
    return this.#recent.get(id) ?? [await this.readBody(id)];
  }

  async readBody(id: string): Promise<Buffer> {
    const loc = this.#loc.get(id);
    if (loc?.kind === 'seg') {
      try {
        return await this.#readers.read(join(this.queueDir, loc.seg), loc.bodyOffset, loc.offset + loc.length - loc.bodyOffset);
      } catch (err) {
        // Moved to its own file meanwhile (maintain), and the segment went: read the file.
        if (this.#loc.get(id)?.kind !== 'file') throw new MbError(SpoolErrors.SPOOL_READ_FAILED, `spool: message ${id} cannot be read`, { cause: err });
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
    const m = this.#messages.get(id);
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
    // No await between this loop's last check and the #removing mark: a move cannot start in between.
    while (this.#moving.has(id)) await this.#moving.get(id);
    if (!this.#messages.has(id)) {
      // Not loaded (a read-only copy, or removed already): only a stray file of that name can go.
      await unlink(join(this.queueDir, `${id}.msg`)).catch(() => undefined);
      return;
    }
    this.#removing.add(id);
    try {
      try {
        await this.#journalBatch.submit({ records: [{ id, at: this.#now(), removed: true }], apply: () => this.#forget(id) });
      } catch (err) {
        throw writeFailed(err, `removing ${id}`);
      }
      const loc = this.#loc.get(id);
      if (this.#strays.has(id)) await this.#unlinkStray(id);
      if (loc?.kind === 'file') {
        await this.#unlinkFile(id).catch((err: unknown) => { this.#backgroundError = err; });
      } else if (loc?.kind === 'seg' && this.#sealed.has(loc.seg) && (this.#segLive.get(loc.seg)?.size ?? 0) === 0) {
        await this.#unlinkSegment(loc.seg).catch((err: unknown) => { this.#backgroundError = err; });
      }
    } finally {
      this.#removing.delete(id);
    }
  }

  /**
   * Housekeeping, called every few seconds by the gateway: seals a current
   * segment that is old, and moves messages still queued out of old segments
   * into files of their own, so a deferred message does not keep a whole
   * segment on disk. Throws the last background error (logged by the caller).
   */
  async maintain(): Promise<{ moved: number }> {
    const after = this.#opts.evacuateAfterMs ?? EVACUATE_AFTER_MS;
    const now = this.#now();
    const cur = this.#segments.current;
    if (cur && now - (this.#segBorn.get(cur) ?? now) >= after) this.#sealWanted = true;
    // Never under a batch being written: its records would land in a segment already unlinked as empty.
    if (this.#sealWanted && !this.#flushing) {
      this.#sealWanted = false;
      this.#segments.seal();
    }
    for (const id of [...this.#strays]) if (!this.#messages.has(id) && !this.#removing.has(id)) await this.#unlinkStray(id);
    let moved = 0;
    for (const seg of [...this.#sealed]) {
      // A segment whose unlink failed earlier: again.
      if ((this.#segLive.get(seg)?.size ?? 0) === 0) {
        await this.#unlinkSegment(seg).catch((err: unknown) => { this.#backgroundError = err; });
        continue;
      }
      if (now - (this.#segBorn.get(seg) ?? now) < after) continue;
      moved += await this.#evacuate(seg);
    }
    const err = this.#backgroundError;
    this.#backgroundError = undefined;
    if (err) throw writeFailed(err, 'spool housekeeping');
    return { moved };
  }

  async #evacuate(seg: string): Promise<number> {
    const ids = [...(this.#segLive.get(seg) ?? [])].filter((id) => !this.#removing.has(id) && !this.#moving.has(id));
    if (ids.length === 0) return 0;
    let release!: () => void;
    const lock = new Promise<void>((r) => { release = r; });
    for (const id of ids) this.#moving.set(id, lock);
    const moved: string[] = [];
    /** Renamed into queue/ (or maybe: the rename itself failed) but not yet taken into use. */
    const renamed: string[] = [];
    let applied = false;
    try {
      for (const id of ids) {
        const loc = this.#loc.get(id);
        if (loc?.kind !== 'seg' || !this.#messages.has(id)) continue;
        const data = await readRange(join(this.queueDir, seg), loc.offset, loc.length);
        const tmp = join(this.tmpDir, `${id}.msg`);
        await writeSynced(tmp, data, this.#opts.fault);
        renamed.push(id);
        await this.#opts.fault?.('evacuate.rename', tmp);
        await rename(tmp, join(this.queueDir, `${id}.msg`));
        await this.#opts.fault?.('evacuate.renamed', tmp);
        moved.push(id);
      }
      await this.#dirSync.sync();
      for (const id of moved) {
        this.#loc.set(id, { kind: 'file' });
        this.#segLive.get(seg)?.delete(id);
        // Its record stays in the segment until the segment goes (a tombstone must outlive both copies).
        this.#segDead.get(seg)?.add(id);
        this.#strays.delete(id);
      }
      applied = true;
      if ((this.#segLive.get(seg)?.size ?? 0) === 0) await this.#unlinkSegment(seg);
    } catch (err) {
      this.#backgroundError = err;
      // The messages still count as in the segment: a copy renamed into queue/ must not outlive a removal.
      if (!applied) {
        for (const id of renamed) {
          this.#strays.add(id);
          await this.#unlinkStray(id);
        }
      }
    } finally {
      for (const id of ids) this.#moving.delete(id);
      release();
    }
    return applied ? moved.length : 0;
  }

  /** Drops a control request for a running gateway (see control.ts). */
  async writeControl(request: object): Promise<void> {
    await mkdir(this.controlDir, { recursive: true });
    // Sorted by name when taken: time, then this process's sequence, so two requests
    // written in one millisecond (hold, then release) are applied in the order given.
    const seq = String(controlSeq++).padStart(10, '0');
    const name = `${String(this.#now()).padStart(15, '0')}-${seq}-${randomBytes(4).toString('hex')}.json`;
    await writeFile(join(this.controlDir, `.${name}`), JSON.stringify(request));
    await rename(join(this.controlDir, `.${name}`), join(this.controlDir, name));
  }

  /** Reads and removes the pending control requests, oldest first. */
  async takeControl(): Promise<unknown[]> {
    let names: string[];
    try {
      names = (await readdir(this.controlDir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    } catch {
      return [];
    }
    const out: unknown[] = [];
    for (const n of names) {
      const p = join(this.controlDir, n);
      try {
        out.push(JSON.parse(await readFile(p, 'utf8')));
      } catch {
        // a request that is not JSON is dropped
      }
      await unlink(p).catch(() => undefined);
    }
    return out;
  }

  /** True when a recipient still waits for delivery. */
  static pending(r: RecipientState): boolean {
    return r.status === 'queued' || r.status === 'deferred';
  }

  /** Size on disk of the queued messages (for metrics). */
  async bytesOnDisk(): Promise<number> {
    let total = 0;
    for (const m of this.#messages.values()) {
      const loc = this.#loc.get(m.id);
      if (loc?.kind === 'seg') total += loc.length;
      else total += await stat(join(this.queueDir, `${m.id}.msg`)).then((s) => s.size, () => 0);
    }
    return total;
  }
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
