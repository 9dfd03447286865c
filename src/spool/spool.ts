/**
 * The durable queue on disk. Layout under the spool folder:
 *
 *   tmp/<id>.msg          being written; never read back (removed at start)
 *   queue/<id>.msg        a complete message file (format.ts), immutable
 *   queue/<id>.state      its state log: one JSON change per line, appended and fdatasync'd
 *   quarantine/           files found damaged at start, with a .reason note
 *   control/              requests from `mailbridge queue` while a gateway runs
 *
 * enqueue() returns only after the file's data and the directory entry are on
 * disk (write tmp, fdatasync, rename, fsync dir): the caller answers 250 after
 * that, never before. A state change (a recipient delivered) is appended and
 * synced before the caller moves on, so a restart never delivers a recipient
 * twice unless the crash fell between the remote 250 and that sync.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MbError } from '../core/index.js';
import { DirSync } from './commit.js';
import { SpoolErrors } from './errors.js';
import { decodeMessageFile, encodeMessageFile, newQueueId, QUEUE_ID } from './format.js';
import type { QueuedMessage, RecipientState, SpoolEnvelope, StateChange } from './types.js';

export interface SpoolOptions {
  now?: () => number;
  /** Open without changing anything (reporting commands): no quarantine moves, no tmp cleanup. */
  readonly?: boolean;
  /** Test hook: replaces the write of a message file (to simulate a full disk). */
  writeHook?: (path: string, data: Buffer) => Promise<void>;
}

export interface QuarantinedFile {
  file: string;
  reason: string;
}

function writeFailed(err: unknown, what: string): MbError {
  return new MbError(SpoolErrors.SPOOL_WRITE_FAILED, `spool: ${what} failed`, { retry: 'transient', cause: err });
}

async function writeSynced(path: string, data: Buffer): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
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

export class Spool {
  readonly queueDir: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;
  readonly controlDir: string;
  readonly #messages = new Map<string, QueuedMessage>();
  readonly #dirSync: DirSync;
  readonly #now: () => number;
  readonly #writeHook: SpoolOptions['writeHook'];

  private constructor(readonly dir: string, opts: SpoolOptions) {
    this.queueDir = join(dir, 'queue');
    this.tmpDir = join(dir, 'tmp');
    this.quarantineDir = join(dir, 'quarantine');
    this.controlDir = join(dir, 'control');
    this.#dirSync = new DirSync(this.queueDir);
    this.#now = opts.now ?? Date.now;
    this.#writeHook = opts.writeHook;
  }

  /** Opens (creating) the spool and loads every complete message; damaged ones go to quarantine/. */
  static async open(dir: string, opts: SpoolOptions = {}): Promise<{ spool: Spool; quarantined: QuarantinedFile[] }> {
    const spool = new Spool(dir, opts);
    if (!opts.readonly) {
      for (const d of [spool.queueDir, spool.tmpDir, spool.quarantineDir, spool.controlDir]) await mkdir(d, { recursive: true });
      // A tmp file never got its 250: the client still has the message and retries.
      for (const f of await readdir(spool.tmpDir)) await unlink(join(spool.tmpDir, f)).catch(() => undefined);
    }
    const quarantined = await spool.#load(opts.readonly ?? false);
    return { spool, quarantined };
  }

  async #load(readonly: boolean): Promise<QuarantinedFile[]> {
    const out: QuarantinedFile[] = [];
    let names: string[];
    try {
      names = await readdir(this.queueDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw new MbError(SpoolErrors.SPOOL_READ_FAILED, `spool: cannot read ${this.queueDir}`, { cause: err });
    }
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
      const m: QueuedMessage = {
        id,
        receivedAt: d.file.receivedAt,
        size: d.file.body.length,
        envelope: d.file.envelope,
        recipients: d.file.envelope.recipients.map(() => ({ status: 'queued', attempts: 0, nextAttempt: d.file.receivedAt, updatedAt: d.file.receivedAt })),
        held: false,
      };
      await this.#replayState(m);
      this.#messages.set(id, m);
    }
    // A state log without its message: the message was finished and removed, the log's unlink did not land.
    if (!readonly) {
      for (const name of names.filter((n) => n.endsWith('.state'))) {
        if (!this.#messages.has(name.slice(0, -6))) await unlink(join(this.queueDir, name)).catch(() => undefined);
      }
    }
    return out;
  }

  async #replayState(m: QueuedMessage): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.queueDir, `${m.id}.state`), 'utf8');
    } catch {
      return;
    }
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

  async #quarantine(id: string, reason: string): Promise<void> {
    for (const ext of ['.msg', '.state']) {
      await rename(join(this.queueDir, id + ext), join(this.quarantineDir, id + ext)).catch(() => undefined);
    }
    await writeFile(join(this.quarantineDir, `${id}.reason`), `${reason}\n`).catch(() => undefined);
  }

  /** Makes a message durable and returns its queue id. Throws a transient SPOOL_WRITE_FAILED. */
  async enqueue(envelope: SpoolEnvelope, body: Buffer, givenId?: string): Promise<QueuedMessage> {
    const receivedAt = this.#now();
    const id = givenId ?? this.newId();
    const data = encodeMessageFile({ id, receivedAt, envelope, body });
    const tmp = join(this.tmpDir, `${id}.msg`);
    try {
      await (this.#writeHook ?? writeSynced)(tmp, data);
      await rename(tmp, join(this.queueDir, `${id}.msg`));
      await this.#dirSync.sync();
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw writeFailed(err, `writing message ${id}`);
    }
    const m: QueuedMessage = {
      id, receivedAt, size: body.length, envelope, held: false,
      recipients: envelope.recipients.map(() => ({ status: 'queued', attempts: 0, nextAttempt: receivedAt, updatedAt: receivedAt })),
    };
    this.#messages.set(id, m);
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

  get commitStats(): { syncs: number; callers: number } {
    return { ...this.#dirSync.stats };
  }

  /** The message bytes (without the envelope). */
  async readBody(id: string): Promise<Buffer> {
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
   * Appends changes to the message's state log and syncs it, then applies them
   * in memory. Durable when it resolves.
   */
  async update(id: string, changes: StateChange[]): Promise<QueuedMessage> {
    const m = this.#messages.get(id);
    if (!m) throw new MbError(SpoolErrors.SPOOL_NOT_FOUND, `spool: message ${id} not found`);
    const at = this.#now();
    const text = changes.map((c) => `${JSON.stringify({ ...c, at })}\n`).join('');
    try {
      const fh = await open(join(this.queueDir, `${id}.state`), 'a', 0o600);
      try {
        await fh.appendFile(text);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw writeFailed(err, `updating the state of ${id}`);
    }
    for (const c of changes) applyChange(m, c, at);
    return m;
  }

  /** Removes a finished (or deleted) message: the message file first, so a crash leaves at most an orphan log. */
  async remove(id: string): Promise<void> {
    await unlink(join(this.queueDir, `${id}.msg`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw writeFailed(err, `removing ${id}`);
    });
    await unlink(join(this.queueDir, `${id}.state`)).catch(() => undefined);
    this.#messages.delete(id);
  }

  /** Drops a control request for a running gateway (see control.ts). */
  async writeControl(request: object): Promise<void> {
    await mkdir(this.controlDir, { recursive: true });
    const name = `${this.#now()}-${randomBytes(4).toString('hex')}.json`;
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

  /** Size on disk of the queue folder's messages (for metrics). */
  async bytesOnDisk(): Promise<number> {
    let total = 0;
    for (const m of this.#messages.values()) {
      total += await stat(join(this.queueDir, `${m.id}.msg`)).then((s) => s.size, () => 0);
    }
    return total;
  }
}

