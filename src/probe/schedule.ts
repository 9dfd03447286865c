/**
 * A job repeated on a schedule, never two runs at once; stop() waits for the
 * run in progress (serve's graceful shutdown) and schedules nothing after it.
 */
export interface Repeater {
  /** Runs the job now (queued behind a run in progress); resolves with its result. */
  runNow<T>(): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Starts `job` after `firstDelayMs` (0: at once), then again `nextDelay(now)`
 * ms after each run ends. Errors go to `onError`; the schedule goes on.
 */
export function repeat(job: () => Promise<unknown>, nextDelay: (now: number) => number, onError: (err: unknown) => void, firstDelayMs = 0): Repeater {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let chain: Promise<unknown> = Promise.resolve();
  const run = (): Promise<unknown> => {
    const next = chain.then(() => (stopped ? undefined : job()));
    chain = next.catch((err: unknown) => onError(err));
    return next;
  };
  const arm = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => { void run().catch(() => undefined).finally(() => arm(nextDelay(Date.now()))); }, ms);
  };
  arm(firstDelayMs);
  return {
    runNow: <T>() => run() as Promise<T>,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await chain;
    },
  };
}
