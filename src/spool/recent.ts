/**
 * The bodies of the most recently queued messages, kept in memory (as the
 * parts they were written from) up to a byte budget, oldest dropped first.
 * Most messages are delivered moments after the 250, and reading each one
 * back from its segment cost a read and a fresh buffer of its size (for
 * 500 KB messages, a large share of the garbage the gateway made). Messages
 * that wait longer (a backend down, a retry) are read from disk as before.
 */
export class RecentBodies {
  readonly #items = new Map<string, { parts: readonly Buffer[]; bytes: number }>();
  #bytes = 0;

  constructor(private readonly budget: number) {}

  add(id: string, parts: readonly Buffer[], bytes: number): void {
    if (bytes > this.budget / 4) return; // one huge message would push out everything else
    this.delete(id);
    this.#items.set(id, { parts, bytes });
    this.#bytes += bytes;
    for (const [old, v] of this.#items) {
      if (this.#bytes <= this.budget) break;
      this.#items.delete(old);
      this.#bytes -= v.bytes;
    }
  }

  get(id: string): readonly Buffer[] | undefined {
    return this.#items.get(id)?.parts;
  }

  delete(id: string): void {
    const v = this.#items.get(id);
    if (!v) return;
    this.#items.delete(id);
    this.#bytes -= v.bytes;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
