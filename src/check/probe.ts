/**
 * One endpoint check as a unit of work: what it is waiting for right now (so a
 * timeout can say "waiting for the bind answer"), one deadline for the whole
 * conversation, and the resources to release when it ends or times out. The
 * deadline is ours and does not depend on any library's own timeouts: a server
 * that accepts the TCP connection and never says a word still ends the check.
 */
import { MbError } from '../core/index.js';
import { CheckErrors, type CheckErrorCode } from './errors.js';
import { classify } from './classify.js';

export class Probe {
  #waitingFor = 'the connection';
  readonly #abort = new AbortController();
  readonly #cleanups: Array<() => void> = [];
  readonly details: Record<string, unknown> = {};

  /** Aborted when the deadline fires; pass it to fetch and friends. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get waitingFor(): string {
    return this.#waitingFor;
  }

  /** Names what the check waits for next, e.g. "the EHLO answer". */
  step(waitingFor: string): void {
    this.#waitingFor = waitingFor;
  }

  /** Registers a release (destroy a socket, close a client); run once, on any ending. */
  onEnd(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  end(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort();
    for (const fn of this.#cleanups.splice(0)) {
      try { fn(); } catch { /* releasing must not fail the check */ }
    }
  }
}

export interface ProbeOutcome {
  ok: boolean;
  latencyMs: number;
  summary: string;
  error?: { code: CheckErrorCode; reason: string };
  details: Record<string, unknown>;
}

/** Runs one check with a deadline; never throws: every failure becomes a classified outcome. */
export async function runProbe(timeoutMs: number, check: (p: Probe) => Promise<string>): Promise<ProbeOutcome> {
  const p = new Probe();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new MbError(CheckErrors.CHECK_DEADLINE, `deadline after ${timeoutMs}ms`, {
        retry: 'transient', details: { waitingFor: p.waitingFor },
      }));
    }, timeoutMs);
  });
  try {
    const summary = await Promise.race([check(p), deadline]);
    return { ok: true, latencyMs: elapsed(started), summary, details: p.details };
  } catch (err) {
    const error = classify(err, { waitingFor: p.waitingFor, timeoutMs });
    return { ok: false, latencyMs: elapsed(started), summary: error.reason, error, details: p.details };
  } finally {
    clearTimeout(timer);
    p.end();
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
