/**
 * Failed-login throttling: at most `maxFailures` failures per key within
 * `windowMs` (sliding), keyed separately by client IP and by login name, so
 * neither guessing many passwords for one user from many addresses nor many
 * users from one address gets through. A success clears the name's failures
 * but not the IP's: otherwise an attacker with one valid account could reset
 * their own counter between guesses at other accounts.
 */
export interface LimiterOptions {
  maxFailures: number;
  windowMs: number;
  /** Keys remembered at most (random login names must not grow memory without end). */
  maxKeys?: number;
  now?: () => number;
}

export type LimitVerdict = { limited: false } | { limited: true; retryAfterSec: number };

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly opts: LimiterOptions) {
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 50_000;
  }

  /** Whether any of the keys has used up its failures; the longest wait wins. */
  check(keys: string[]): LimitVerdict {
    const t = this.now();
    let wait = 0;
    for (const k of keys) {
      const list = this.recent(k, t);
      if (list.length >= this.opts.maxFailures) {
        // The oldest failure inside the window has to age out before one more try.
        const until = list[list.length - this.opts.maxFailures]! + this.opts.windowMs;
        wait = Math.max(wait, until - t);
      }
    }
    return wait > 0 ? { limited: true, retryAfterSec: Math.max(1, Math.ceil(wait / 1000)) } : { limited: false };
  }

  /**
   * Counts a failure for each key; returns its timestamp, so that an attempt
   * counted before its outcome was known (see console-auth.ts) can be forgiven.
   */
  fail(keys: string[]): number {
    const t = this.now();
    for (const k of keys) {
      const list = this.recent(k, t);
      list.push(t);
      this.failures.delete(k);
      this.failures.set(k, list);
    }
    while (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
    return t;
  }

  /** Takes back one failure counted at `at` for `key`. */
  forgive(key: string, at: number): void {
    const list = this.failures.get(key);
    const i = list?.lastIndexOf(at) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.failures.delete(key);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, t: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((at) => t - at < this.opts.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }
}
