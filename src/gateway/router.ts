/**
 * The routing decision for one recipient, in the three models of the
 * coexistence literature (gateway.routing.mode):
 *
 * - central: the gateway knows every recipient; unknown ones are refused.
 * - chaining: unknown recipients in the shared domains go to the overflow
 *   system, which may know them (or bounce them itself).
 * - selective: the envelope recipient is rewritten to the home system's
 *   routing domain (user@legacy.example.com), so the system's own routing
 *   needs no per-user table. Mail addressed to a routing domain goes straight
 *   to its system.
 *
 * Every decision carries its reason, which `route explain` prints.
 */
import type { GatewayConfig } from '../config/index.js';
import type { RecipientResolver } from './resolver.js';

export type Route =
  | { kind: 'system'; system: string; deliverTo: string; reason: string }
  | { kind: 'external'; deliverTo: string; reason: string }
  | { kind: 'unknown'; reason: string };

export interface RouterOptions {
  domains: readonly string[];
  routing: GatewayConfig['routing'];
  resolver: RecipientResolver;
}

/** "system:legacy" or "external": the per-destination queue a route belongs to. */
export function destinationKey(r: Route): string | undefined {
  return r.kind === 'system' ? `system:${r.system}` : r.kind === 'external' ? 'external' : undefined;
}

export class Router {
  readonly #domains: Set<string>;
  readonly #routingDomains: Map<string, string>;

  constructor(private readonly opts: RouterOptions) {
    this.#domains = new Set(opts.domains.map((d) => d.toLowerCase()));
    this.#routingDomains = new Map(Object.entries(opts.routing.routingDomains ?? {}).map(([s, d]) => [d.toLowerCase(), s]));
  }

  /** A domain the gateway answers for: a shared domain or a routing domain. */
  isLocalDomain(domain: string): boolean {
    const d = domain.toLowerCase();
    return this.#domains.has(d) || this.#routingDomains.has(d);
  }

  get resolverSource(): string {
    return this.opts.resolver.source;
  }

  async route(address: string): Promise<Route> {
    const at = address.lastIndexOf('@');
    const local = address.slice(0, at);
    const domain = address.slice(at + 1).toLowerCase();
    const viaRoutingDomain = this.#routingDomains.get(domain);
    if (viaRoutingDomain !== undefined) {
      return { kind: 'system', system: viaRoutingDomain, deliverTo: address, reason: `${domain} is the routing domain of system ${viaRoutingDomain}` };
    }
    if (!this.#domains.has(domain)) {
      return { kind: 'external', deliverTo: address, reason: `${domain} is not a shared domain: external smarthost` };
    }
    const r = await this.opts.resolver.resolve(address);
    const { mode, overflowSystem, routingDomains } = this.opts.routing;
    if (r.kind === 'system') {
      const rd = mode === 'selective' ? routingDomains?.[r.name] : undefined;
      const deliverTo = rd ? `${local}@${rd}` : address;
      const rewrite = rd ? `; selective routing rewrites it to ${deliverTo}` : '';
      return { kind: 'system', system: r.name, deliverTo, reason: `${r.via} in ${this.opts.resolver.source}: home system ${r.name}${rewrite}` };
    }
    if (r.kind === 'external') return { kind: 'external', deliverTo: address, reason: 'the directory says external' };
    if (mode === 'chaining' && overflowSystem) {
      return { kind: 'system', system: overflowSystem, deliverTo: address, reason: `not in ${this.opts.resolver.source}; chaining sends unknown recipients to ${overflowSystem}` };
    }
    return { kind: 'unknown', reason: `not in ${this.opts.resolver.source} (mode ${mode}): refused with 550 5.1.1` };
  }
}
