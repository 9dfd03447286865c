/**
 * Routing for probe mailboxes: the gateway delivers a probe for system X to X,
 * whatever the directory says (a probe mailbox is rarely a person in the
 * directory, and it must keep testing its own system during a migration).
 * Every other address goes to the wrapped resolver.
 */
import type { RecipientResolver, Resolution } from '../gateway/index.js';

export class ProbeAwareResolver implements RecipientResolver {
  readonly #probes: Map<string, string>;

  constructor(private readonly inner: RecipientResolver, mailboxes: Readonly<Record<string, { address: string }>>) {
    this.#probes = new Map(Object.entries(mailboxes).map(([system, m]) => [m.address.toLowerCase(), system]));
  }

  get source(): string {
    return this.#probes.size ? `probes.mailboxes, then ${this.inner.source}` : this.inner.source;
  }

  async resolve(address: string): Promise<Resolution> {
    const system = this.#probes.get(address.trim().toLowerCase());
    if (system) return { kind: 'system', name: system, via: 'probes.mailboxes' };
    return this.inner.resolve(address);
  }
}
