/**
 * Directory sync on a timer, for `serve` (issue 5: every `directory.interval`).
 * Runs never overlap: the next one is scheduled when the previous one ends, so
 * a slow 100,000-person run does not pile up. A failed or stopped run has been
 * logged and recorded by the run itself; the schedule just goes on.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DirectorySchedule {
  /** Stops scheduling and waits for a run in progress to end. */
  stop(): Promise<void>;
}

const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export function scheduleDirectorySync(
  run: () => Promise<unknown>, intervalMs: number, opts: { timers?: Timers; firstDelayMs?: number } = {},
): DirectorySchedule {
  const timers = opts.timers ?? nodeTimers;
  let stopped = false;
  let handle: unknown;
  let current: Promise<void> | undefined;
  const tick = () => {
    handle = undefined;
    current = run().then(() => undefined, () => undefined).then(() => {
      current = undefined;
      if (!stopped) handle = timers.setTimeout(tick, intervalMs);
    });
  };
  handle = timers.setTimeout(tick, opts.firstDelayMs ?? 0);
  return {
    async stop() {
      stopped = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      await current;
    },
  };
}
