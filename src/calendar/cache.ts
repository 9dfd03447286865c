/**
 * The free/busy answer cache: fresh for `ttl`, then served stale for up to
 * `staleFor` more while one background refresh runs (stale-while-revalidate,
 * as RFC 5861 describes it for HTTP); concurrent misses for one key share one
 * load. Failures are never cached. Bounded: least recently used entries go
 * first. In-process only: several nodes each keep their own (DESIGN.md "one
 * machine, then many": a cache of remote answers, not state).
 */
export type CacheState = 'miss' | 'fresh' | 'stale';

export interface CacheOptions {
  ttl: number;
  staleFor: number;
  maxEntries: number;
  now?: () => number;
  /** Called when a background refresh fails (the stale entry stays). */
  onRefreshError?: (key: string, err: unknown) => void;
}

interface Entry<V> {
  value: V;
  at: number;
}

export class AnswerCache<V> {
  readonly #opts: CacheOptions;
  readonly #entries = new Map<string, Entry<V>>();
  readonly #loading = new Map<string, Promise<V>>();
  readonly #now: () => number;

  constructor(opts: CacheOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string, load: () => Promise<V>): Promise<{ value: V; state: CacheState }> {
    const e = this.#entries.get(key);
    if (e) {
      const age = this.#now() - e.at;
      if (age < this.#opts.ttl) return { value: this.#touch(key, e).value, state: 'fresh' };
      if (age < this.#opts.ttl + this.#opts.staleFor) {
        if (!this.#loading.has(key)) {
          this.#load(key, load).catch((err: unknown) => this.#opts.onRefreshError?.(key, err));
        }
        return { value: this.#touch(key, e).value, state: 'stale' };
      }
      this.#entries.delete(key);
    }
    return { value: await (this.#loading.get(key) ?? this.#load(key, load)), state: 'miss' };
  }

  clear(): void {
    this.#entries.clear();
  }

  #touch(key: string, e: Entry<V>): Entry<V> {
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e;
  }

  #load(key: string, load: () => Promise<V>): Promise<V> {
    // load() runs in a later microtask, so #loading holds the promise before anything can settle it.
    const p = Promise.resolve()
      .then(load)
      .then((value) => {
        if (this.#opts.ttl > 0) {
          this.#entries.delete(key);
          this.#entries.set(key, { value, at: this.#now() });
          while (this.#entries.size > this.#opts.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
        }
        return value;
      })
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    return p;
  }
}
