/**
 * One source reader (raw-imap.ts) for the folders of several lanes (lanes.ts): each lane copies a folder of its
 * own, and all of them read through one connection, so a second lane costs one login on the target only.
 *
 * IMAP has one selected mailbox per connection. A folder's commands go out on it while that folder is selected,
 * behind an EXAMINE of it when another folder was selected last (checked against the folder's UIDVALIDITY, so a
 * folder made again meanwhile stops the pass instead of mixing UIDs). The server runs an EXAMINE only after the
 * commands sent before it (RFC 3501 5.5), so the switch needs no round trip of its own, and raw-imap.ts routes each
 * FETCH answer to the selection it belongs to.
 *
 * Turns, first come first served: a folder keeps the connection while it sends commands and nobody waits; once
 * another folder waits, its next command queues behind, and the connection passes on when its commands in flight
 * are answered. A folder may pin the connection while it reads its metadata (EXAMINE, SEARCH, the first metadata
 * FETCH, a delta pass' flag changes: a few round trips), so the folders of two lanes do not take turns at every
 * command, each turn costing an EXAMINE; it unpins once its first body FETCHes are sent (copier.ts). Body FETCHes
 * then take turns batch by batch.
 */
import { MbError } from '../core/index.js';
import { MigrationErrors } from './errors.js';
import type { MessageMeta } from './imap-ops.js';
import type { ExamineResult, FetchItem, RawImap } from './raw-imap.js';

/** The reader's commands for one source folder (sync-folder.ts, copier.ts). */
export interface FolderReader {
  /** The first command for the folder (with `since`: QRESYNC, raw-imap.ts examine). */
  examine(since?: { uidValidity: number; modseq: bigint }): Promise<ExamineResult>;
  searchUids(criteria: string): Promise<number[]>;
  fetchMeta(set: string): Promise<MessageMeta[]>;
  fetchBodies(uids: readonly number[]): Promise<Map<number, Buffer>>;
  fetch(set: string, items: string, onItem: (item: FetchItem) => void, uids?: readonly number[], modifiers?: string): Promise<void>;
  enableQresync(): Promise<boolean>;
  /** Keep the connection for this folder's next commands, even when another folder waits. */
  pin(): void;
  /** Let the connection pass on (idempotent). */
  unpin(): void;
}

class FolderView implements FolderReader {
  pinned = false;
  inflight = 0;
  uidValidity: number | undefined;

  constructor(private readonly shared: SharedReader, readonly wire: string) {}

  async examine(since?: { uidValidity: number; modseq: bigint }): Promise<ExamineResult> {
    const ex = await this.shared.run(this, () => this.shared.raw.examine(this.wire, since), true);
    this.uidValidity = ex.uidValidity;
    return ex;
  }

  searchUids(criteria: string): Promise<number[]> {
    return this.shared.run(this, () => this.shared.raw.searchUids(criteria));
  }

  fetchMeta(set: string): Promise<MessageMeta[]> {
    return this.shared.run(this, () => this.shared.raw.fetchMeta(set));
  }

  fetchBodies(uids: readonly number[]): Promise<Map<number, Buffer>> {
    return this.shared.run(this, () => this.shared.raw.fetchBodies(uids));
  }

  fetch(set: string, items: string, onItem: (item: FetchItem) => void, uids?: readonly number[], modifiers?: string): Promise<void> {
    return this.shared.run(this, () => this.shared.raw.fetch(set, items, onItem, uids, modifiers));
  }

  enableQresync(): Promise<boolean> {
    return this.shared.raw.enableQresync();
  }

  pin(): void {
    this.pinned = true;
  }

  unpin(): void {
    this.pinned = false;
    this.shared.pump();
  }

  /** After an EXAMINE sent on switching back to this folder. */
  checkSame(ex: ExamineResult): void {
    if (this.uidValidity === undefined) this.uidValidity = ex.uidValidity;
    else if (ex.uidValidity !== this.uidValidity) {
      throw new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `source folder ${this.wire}: UIDVALIDITY changed during the pass (${this.uidValidity} to ${ex.uidValidity})`,
        { retry: 'transient' });
    }
  }
}

export class SharedReader {
  /** The folder whose commands the connection carries now (none when nothing is in flight and nobody pinned it). */
  private owner: FolderView | undefined;
  private readonly queue: { view: FolderView; go: () => void }[] = [];

  constructor(readonly raw: RawImap) {}

  folder(wire: string): FolderReader {
    return new FolderView(this, wire);
  }

  /** Sends `send` when `view` has its turn: at once, or after the folders waiting before it. `selects`: it is the EXAMINE. */
  run<T>(view: FolderView, send: () => Promise<T>, selects = false): Promise<T> {
    const now = this.owner === view ? view.pinned || this.queue.length === 0 : this.owner === undefined && this.queue.length === 0;
    if (now) {
      view.inflight++;
      return this.go(view, send, selects);
    }
    // pump() counts the command as in flight when it gives the turn, so the turn holds until it is sent.
    return new Promise<void>((go) => this.queue.push({ view, go })).then(() => this.go(view, send, selects));
  }

  /** Correct whatever the turns: each command goes out right behind an EXAMINE of its folder when another one was selected last. */
  private go<T>(view: FolderView, send: () => Promise<T>, selects: boolean): Promise<T> {
    this.owner = view;
    const again = !selects && this.raw.selected !== view.wire ? this.raw.examine(view.wire) : undefined;
    const sent = send();
    const done = again ? Promise.all([again, sent]).then(([ex, r]) => { view.checkSame(ex); return r; }) : sent;
    return done.finally(() => {
      view.inflight--;
      this.pump();
    });
  }

  /** Passes the connection on when its folder has nothing in flight and is not pinned: to the next waiting folder's commands. */
  pump(): void {
    const o = this.owner;
    if (o && (o.pinned || o.inflight > 0)) return;
    this.owner = undefined;
    const next = this.queue[0]?.view;
    if (!next) return;
    this.owner = next;
    while (this.queue[0]?.view === next) {
      next.inflight++;
      this.queue.shift()!.go();
    }
  }
}
