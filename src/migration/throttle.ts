/**
 * Per-server concurrency for one run. When a server throttles us (Exchange
 * Online's "[THROTTLED]" and "Suggested Backoff Time: N ms", "NO [UNAVAILABLE]",
 * an unsolicited BYE), hammering it with the same number of sessions only
 * earns more refusals: the limit for that server is halved (never below 1) for
 * the rest of the run, and nobody opens a new session on it before the server's
 * hinted backoff has passed. Users wait for a slot of both servers they use.
 * Pure bookkeeping with an injected clock and sleep; no timers of its own.
 */
import type { RetryDecision } from './retry.js';

/** The rules of retry.ts that mean "the server asks us to slow down", not "the line dropped". */
export const THROTTLE_RULES: ReadonlySet<string> = new Set(['server-backoff-hint', 'throttled', 'unavailable', 'bye']);

export function isThrottle(d: RetryDecision): boolean {
  return d.action === 'retry' && THROTTLE_RULES.has(d.rule);
}

export interface Lowered {
  server: string;
  from: number;
  to: number;
  /** The wait before the next session on this server. */
  waitMs: number;
}

class ServerLimit {
  active = 0;
  blockedUntil = 0;
  readonly waiters: (() => void)[] = [];

  constructor(public limit: number) {}
}

export class ServerLimiter {
  private readonly servers = new Map<string, ServerLimit>();

  constructor(private readonly initial: number, private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {}

  private of(server: string): ServerLimit {
    let s = this.servers.get(server);
    if (!s) {
      s = new ServerLimit(Math.max(1, this.initial));
      this.servers.set(server, s);
    }
    return s;
  }

  limit(server: string): number {
    return this.of(server).limit;
  }

  active(server: string): number {
    return this.of(server).active;
  }

  /** Waits for a slot on every server (in a fixed order, so two users never hold one each and wait for the other), and for any backoff. */
  async acquire(servers: readonly string[]): Promise<() => void> {
    const names = [...new Set(servers)].sort();
    const held: string[] = [];
    try {
      for (const name of names) {
        const s = this.of(name);
        while (s.active >= s.limit) await new Promise<void>((resolve) => s.waiters.push(resolve));
        s.active++;
        held.push(name);
      }
      for (const name of names) {
        const wait = this.of(name).blockedUntil - this.now();
        if (wait > 0) await this.sleep(wait);
      }
    } catch (err) {
      for (const name of held) this.release(name);
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const name of held) this.release(name);
    };
  }

  private release(name: string): void {
    const s = this.of(name);
    s.active--;
    // The woken waiter re-checks the (possibly lowered) limit itself.
    if (s.active < s.limit) s.waiters.shift()?.();
  }

  /**
   * A throttling answer from `server`: halve its limit (min 1) and block new
   * sessions on it for `waitMs` (the server's hint, or the caller's backoff).
   */
  throttled(server: string, waitMs: number): Lowered {
    const s = this.of(server);
    const from = s.limit;
    s.limit = Math.max(1, Math.floor(s.limit / 2));
    s.blockedUntil = Math.max(s.blockedUntil, this.now() + waitMs);
    return { server, from, to: s.limit, waitMs };
  }
}

/**
 * Which side a throttling answer came from. Opening a session names its system
 * (MbError details); an APPEND is the target's; a BYE on the source session is the
 * source's. Otherwise the target: the side we write to, and in practice the cloud
 * service that throttles (Exchange Online, Gmail).
 */
export function throttledSide(err: unknown, sourceSystem: string, sourceBye: boolean): 'source' | 'target' {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const o = e as { details?: { system?: unknown }; message?: unknown; cause?: unknown };
    if (o.details && typeof o.details.system === 'string') return o.details.system === sourceSystem ? 'source' : 'target';
    if (typeof o.message === 'string' && /\bAPPEND\b/.test(o.message)) return 'target';
    e = o.cause;
  }
  return sourceBye ? 'source' : 'target';
}
