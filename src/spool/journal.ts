/**
 * The state journal: one append-only file shared by every message, holding
 * the recipient state changes (delivered, deferred, bounced, notified), hold /
 * release / retry, and the removal of finished messages.
 *
 *   journal-<seq>.log   lines of "<crc32 hex> <JSON record>\n"
 *
 * Appends are group-committed (commit.ts Batcher): every change that arrives
 * while one fdatasync runs shares the next one, so a delivery result costs no
 * fsync of its own. A record counts once its line is complete and its
 * checksum matches: a torn last line (kill -9 in the middle of a write) or a
 * damaged one is skipped, and that change was never acknowledged to anyone.
 *
 * Compaction: when the file passes a size, a new file is written holding one
 * absolute snapshot line per live message (and a tombstone per removed
 * message whose bytes may still be on disk), synced, and the old file is
 * unlinked. Replay reads every journal file in sequence order, so a crash in
 * the middle of a compaction (old file still there, new one partial) still
 * ends in the right state: a snapshot line only ever restates the latest state.
 */
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { RecipientState, StateChange } from './types.js';

export type JournalRecord =
  | { id: string; at: number; c: StateChange }
  | { id: string; at: number; snap: { held: boolean; recipients: RecipientState[] } }
  | { id: string; at: number; removed: true };

const NAME = /^journal-(\d+)\.log$/;

export function journalName(seq: number): string {
  return `journal-${String(seq).padStart(10, '0')}.log`;
}

export function encodeRecord(r: JournalRecord): string {
  const json = JSON.stringify(r);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Parses one journal file's text; lines that are torn or fail their checksum are counted, not applied. */
export function decodeJournal(text: string): { records: JournalRecord[]; bad: number } {
  const records: JournalRecord[] = [];
  let bad = 0;
  const lines = text.split('\n');
  // The text after the last newline is a torn write (never acknowledged), not damage.
  const torn = lines.pop();
  if (torn) bad++;
  for (const line of lines) {
    if (!line) continue;
    const m = /^([0-9a-f]{8}) (.*)$/.exec(line);
    if (!m || crc32(m[2]!).toString(16).padStart(8, '0') !== m[1]) {
      bad++;
      continue;
    }
    try {
      const r = JSON.parse(m[2]!) as JournalRecord;
      if (typeof r.id === 'string') records.push(r);
      else bad++;
    } catch {
      bad++;
    }
  }
  return { records, bad };
}

/** The journal files of a folder, oldest first. */
export async function journalFiles(dir: string): Promise<{ name: string; seq: number }[]> {
  const names = await readdir(dir);
  return names.flatMap((n) => {
    const m = NAME.exec(n);
    return m ? [{ name: n, seq: Number(m[1]) }] : [];
  }).sort((a, b) => a.seq - b.seq);
}

/** Every record of every journal file, in order. A file compacted away while we read is read again from the listing. */
export async function readJournal(dir: string): Promise<{ records: JournalRecord[]; bad: number; lastSeq: number }> {
  for (let attempt = 0; ; attempt++) {
    const files = await journalFiles(dir);
    const records: JournalRecord[] = [];
    let bad = 0;
    try {
      for (const f of files) {
        const d = decodeJournal(await readFile(join(dir, f.name), 'utf8'));
        records.push(...d.records);
        bad += d.bad;
      }
      return { records, bad, lastSeq: files.at(-1)?.seq ?? 0 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

export interface JournalWriterOptions {
  dir: string;
  /** Compact when the current file passes this many bytes. */
  compactBytes: number;
  /** The lines of a fresh file: absolute state of everything that must survive. */
  snapshot: () => Promise<JournalRecord[]>;
  /** fsync of the folder (publishes a new file, makes earlier unlinks durable). */
  syncDir: () => Promise<void>;
  /** Test hook (fault injection, spool.ts SpoolOptions.fault): throwing fails that step of a compaction. */
  fault?: (step: string, path: string, data?: Buffer) => void | Promise<void>;
}

/** Appends to the current journal file; compacts into a new one. One writer per spool (the Batcher serializes calls). */
export class JournalWriter {
  #seq: number;
  #size = 0;
  /** A failed write may have left a partial line: the next append goes to a fresh file. */
  #broken = false;
  readonly stats = { compactions: 0 };

  constructor(private readonly o: JournalWriterOptions, lastSeq: number) {
    this.#seq = lastSeq;
  }

  get file(): string {
    return join(this.o.dir, journalName(this.#seq));
  }

  /** Writes and syncs lines (Batcher's flush). */
  async append(text: string): Promise<void> {
    if (this.#broken) await this.compact();
    const fh = await open(this.file, 'a', 0o600);
    try {
      await fh.writeFile(text);
      await fh.datasync();
      this.#size += Buffer.byteLength(text);
    } catch (err) {
      this.#broken = true;
      throw err;
    } finally {
      await fh.close();
    }
  }

  get needsCompaction(): boolean {
    return this.#size >= this.o.compactBytes;
  }

  /** Starts a new file holding the snapshot; the older files are unlinked once it is durable. */
  async compact(): Promise<void> {
    const older = await journalFiles(this.o.dir);
    const records = await this.o.snapshot();
    const text = records.map(encodeRecord).join('');
    const seq = Math.max(this.#seq, older.at(-1)?.seq ?? 0) + 1;
    const file = join(this.o.dir, journalName(seq));
    // Written under a temporary name: a half-written snapshot must never be replayed after newer appends.
    const tmp = join(this.o.dir, `journal.tmp`);
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await this.o.fault?.('journal.write', tmp, Buffer.from(text));
        await fh.writeFile(text);
        await this.o.fault?.('journal.sync', tmp);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await this.o.fault?.('journal.rename', tmp);
      // From here on a new file may exist whatever rename says: appends must not go on in the older
      // file, which replay reads before it (they would be undone by this snapshot). #broken sends the
      // next append through a compaction that completes first.
      this.#broken = true;
      await rename(tmp, file);
      await this.o.fault?.('journal.renamed', file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    // From the rename on, appends go after the snapshot (replay reads the files in sequence order).
    this.#seq = seq;
    this.#size = Buffer.byteLength(text);
    // Until the folder sync, the new name may not survive a crash, and the appends after it with it.
    await this.o.syncDir();
    this.#broken = false;
    this.stats.compactions++;
    for (const f of older) {
      const p = join(this.o.dir, f.name);
      await (async () => { await this.o.fault?.('journal.unlink', p); await unlink(p); })().catch(() => undefined);
    }
  }
}
