/**
 * Folders of one user copied at once ("lanes"): each lane has a source reader and target APPEND connections of
 * its own (connections.ts openLane) and takes the next unit of work when it is free. Pure scheduling: the engine
 * (engine.ts onePass, connections.ts openLanes) opens the lanes and syncs each folder.
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
  const max = Math.max(1, folderLanes ?? DEFAULT_LANES);
  if (total < (laneMinMessages ?? LANE_MIN_MESSAGES)) return 1;
  return Math.max(1, Math.min(max, work.filter((w) => w.expected > 0).length));
}

const DEFAULT_LANES = 2;
const LANE_MIN_MESSAGES = 1000;

/**
 * Runs `work` on `lanes`, each lane taking the next unit when free and running its folders in order. `run`
 * resolves once a folder is read and its last APPENDs are sent, with `done` for when they are answered and
 * recorded: the lane starts its next folder meanwhile, so the source reads one folder while the target saves the
 * last (one folder's tail at a time per lane). Not within a unit: a merged folder's target holds the previous
 * folder's messages, which must be recorded before it is looked at. After a failure no lane starts another unit;
 * the units already started run to their end (their state is consistent on its own, and a retry resumes from
 * it). Resolves once every lane has stopped and every tail has settled, with the first failure if any.
 */
export async function runLanes<L>(lanes: readonly L[], work: readonly LaneWork[],
  run: (lane: L, item: number) => Promise<{ done: Promise<void> }>): Promise<{ error: unknown } | undefined> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  await Promise.all(lanes.map(async (lane) => {
    let tail: Promise<void> | undefined;
    try {
      while (next < work.length && !failed) {
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
    }
  }));
  return failed;
}
