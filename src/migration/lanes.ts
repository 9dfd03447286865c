/**
 * Folders of one user copied at once ("lanes"): each lane has target APPEND connections of its own and reads
 * through the pass' shared source reader (connections.ts openLane) and takes the next unit of work when it is
 * free; across a run of several users, a LanePool shares out the room for lanes beyond each pass' first. Pure
 * scheduling: the engine (engine.ts onePass, connections.ts openLanes) opens the lanes and syncs each folder.
 */

/** Source folders that share a target folder (a merge) are one unit of work, copied one after the other by one lane. */
export interface LaneWork { items: number[]; expected: number }

/** The units of work, largest expected copy first, so the lanes end at about the same time. */
export function laneWork(mappings: readonly { source: string; target: string }[], expected: ReadonlyMap<string, number>): LaneWork[] {
  const byTarget = new Map<string, LaneWork>();
  for (const [i, m] of mappings.entries()) {
    const w = byTarget.get(m.target) ?? { items: [], expected: 0 };
    w.items.push(i);
    w.expected += expected.get(m.source) ?? 0;
    byTarget.set(m.target, w);
  }
  return [...byTarget.values()].sort((a, b) => b.expected - a.expected);
}

/**
 * Folders copied at once for one user. Each lane costs a login on each side, so a second one only for a pass that
 * copies at least `laneMinMessages` (default 1,000) spread over two units of work or more. Why: the target saves
 * each message with an fsync of its own (Dovecot's sdbox and maildir), so one user's APPEND connections spend much
 * of a pass waiting for the disk, and a second folder at once keeps the disk and the CPU busy. bench/migrate, two
 * lanes against one in the same rounds (bench/RESULTS.md, session 7): one 6,000-message mailbox 1.36 x dsync
 * against 1.22; 8 mailboxes at once 0.98 against 0.91 (faster in 4 rounds of 4). A third lane was slower.
 */
export function lanesFor(folderLanes: number | undefined, laneMinMessages: number | undefined, work: readonly LaneWork[], total: number): number {
  const max = maxLanes(folderLanes);
  if (total < (laneMinMessages ?? LANE_MIN_MESSAGES)) return 1;
  return Math.max(1, Math.min(max, work.filter((w) => w.expected > 0).length));
}

/** Folders of one user at once at most: migration.foldersInParallel, else 2. */
export function maxLanes(folderLanes: number | undefined): number {
  return Math.max(1, folderLanes ?? DEFAULT_LANES);
}

const DEFAULT_LANES = 2;
const LANE_MIN_MESSAGES = 1000;

/** What a pass may ask of its running lanes (runLanes `grow`): the work not started yet, and one more lane for it. */
export interface LaneControl<L> {
  /** Units of work no lane has started yet, and the messages they expect. */
  left(): { units: number; expected: number };
  /** Lanes copying now, those still logging in included. */
  running(): number;
  /**
   * One more lane once `open` resolves (undefined: it could not log in, and is not needed); it takes the next
   * unit like the others. False, and `open` is not called, when no unit is left or the pass failed.
   */
  add(open: () => Promise<L | undefined>): boolean;
}

/**
 * Runs `work` on `lanes`, each lane taking the next unit when free and running its folders in order. `run`
 * resolves once a folder is read and its last APPENDs are sent, with `done` for when they are answered and
 * recorded: the lane starts its next folder meanwhile, so the source reads one folder while the target saves the
 * last (one folder's tail at a time per lane). Not within a unit: a merged folder's target holds the previous
 * folder's messages, which must be recorded before it is looked at. After a failure no lane starts another unit;
 * the units already started run to their end (their state is consistent on its own, and a retry resumes from
 * it). `grow` gets the control to add lanes while the pass runs (LanePool); `laneEnded` is called once per lane,
 * added ones included, when it has no more work. Resolves once every lane has stopped and every tail has
 * settled, with the first failure if any.
 */
export async function runLanes<L>(lanes: readonly L[], work: readonly LaneWork[],
  run: (lane: L, item: number) => Promise<{ done: Promise<void> }>,
  hooks: { grow?: (control: LaneControl<L>) => void; laneEnded?: () => void } = {}): Promise<{ error: unknown } | undefined> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  let running = 0;
  const loop = async (lane: L | undefined): Promise<void> => {
    let tail: Promise<void> | undefined;
    try {
      while (lane !== undefined && next < work.length && !failed) {
        const items = work[next++]!.items;
        for (const [k, i] of items.entries()) {
          const { done } = await run(lane, i);
          done.catch(() => undefined);
          const before = tail;
          tail = done;
          if (before) await before;
          if (k < items.length - 1) {
            await tail;
            tail = undefined;
          }
        }
      }
      if (tail) await tail;
    } catch (error) {
      failed ??= { error };
      await tail?.catch(() => undefined);
    } finally {
      running--;
      hooks.laneEnded?.();
    }
  };
  const workers: Promise<void>[] = [];
  const start = (lane: Promise<L | undefined>): void => {
    running++;
    workers.push(lane.then(loop, loop.bind(undefined, undefined)));
  };
  for (const lane of lanes) start(Promise.resolve(lane));
  hooks.grow?.({
    left: () => ({ units: work.length - next, expected: work.slice(next).reduce((n, w) => n + w.expected, 0) }),
    running: () => running,
    add: (open) => {
      if (next >= work.length || failed) return false;
      start(open());
      return true;
    },
  });
  // A lane added while others run joins `workers`; the loop reads its length afresh.
  for (let i = 0; i < workers.length; i++) await workers[i];
  return failed;
}

/**
 * The folders copied at once across a run of several users (migrateUsers): each pass' first lane always, more
 * only into free room, and a pass with work left gets the room a finished lane frees (the first pass waiting
 * first). Why: with as many users at once as the run's concurrency, the target already has that many writers,
 * and a second lane per user then cost the target Dovecot 11% more CPU for the same throughput (8 users x 1,500,
 * bench/RESULTS.md, session 11), while a user alone, or the last large ones of a run, copy faster on two
 * (one 6,000-message mailbox: 1.36 x dsync against 1.22, session 7).
 */
export class LanePool {
  private busy = 0;
  private waiting: Waiter[] = [];

  constructor(readonly capacity: number) {}

  /** The lanes in use now, in the whole run. */
  get inUse(): number { return this.busy; }

  /** A pass' first lane: always (the run's concurrency bounds the passes at once). */
  enter(): void { this.busy++; }

  /** One more lane if the run has room. */
  tryTake(): boolean {
    if (this.busy >= this.capacity) return false;
    this.busy++;
    return true;
  }

  /** A lane ended: its room goes to the first waiting pass that takes it. */
  release(): void {
    this.busy--;
    this.offer();
  }

  /**
   * Waits for room for as long as the returned function is not called: `take` is asked each time a lane ends
   * and returns whether it used the room (a lane it will release when that one ends). A pass that took room
   * waits behind the others for the next.
   */
  wait(take: () => boolean): () => void {
    const w: Waiter = { take };
    this.waiting.push(w);
    return () => { this.waiting = this.waiting.filter((x) => x !== w); };
  }

  private offer(): void {
    for (let i = 0; i < this.waiting.length && this.busy < this.capacity;) {
      const w = this.waiting[i]!;
      this.busy++;
      if (!w.take()) {
        this.busy--;
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.waiting.push(w);
      return;
    }
  }
}

interface Waiter { take: () => boolean }

/**
 * The room one pass holds in the run's LanePool (none without a pool: then it opens the lanes lanesFor gives):
 * given back as its lanes run out of work, and all of it when the pass ends.
 */
export class PassLanes {
  private held = 0;
  private stopWaiting: (() => void) | undefined;

  constructor(private readonly pool: LanePool | undefined) {}

  /** The first lane, and up to `more` others as the run has room for: how many others. */
  start(more: number): number {
    this.pool?.enter();
    this.held++;
    let got = 0;
    while (got < more && (!this.pool || this.pool.tryTake())) got++;
    this.held += got;
    return got;
  }

  /** A lane of this pass has no more work (or could not log in). */
  ended(): void {
    if (this.held === 0) return;
    this.held--;
    this.pool?.release();
  }

  /** While the pass runs, `take` is offered the room other lanes free (see LanePool.wait). */
  wait(take: () => boolean): void {
    if (!this.pool) return;
    this.stopWaiting = this.pool.wait(() => {
      if (!take()) return false;
      this.held++;
      return true;
    });
  }

  /** The pass ended: it stops waiting and gives back what it still holds. */
  close(): void {
    this.stopWaiting?.();
    this.stopWaiting = undefined;
    while (this.held > 0) this.ended();
  }
}

/**
 * Whether a running pass should open one more lane now: fewer lanes than configured, and the units no lane has
 * started yet expect at least `laneMinMessages` (default 1,000) between them, as for a second lane at the start.
 */
export function growLane(folderLanes: number | undefined, laneMinMessages: number | undefined, running: number, left: { units: number; expected: number }): boolean {
  return running < maxLanes(folderLanes) && left.units > 0 && left.expected > 0 && left.expected >= (laneMinMessages ?? LANE_MIN_MESSAGES);
}
