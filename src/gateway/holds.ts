/**
 * Cutover holds at the gateway (issue 8). The cutover puts an address on hold
 * in the store and bumps a hold version; every gateway node reads that version
 * once per delivery scan (one single-row query), reloads the held addresses
 * (primary addresses and their aliases) when it changed, and keeps recipients
 * of those addresses queued while the message's other recipients go out.
 *
 * Once a node has loaded a version and no delivery to a held address is in
 * flight, it acknowledges the version (gateway_nodes.hold_version_seen) with a
 * heartbeat. The cutover waits for that acknowledgement from every live node
 * before its final delta pass: from then on nothing reaches the old mailbox.
 */
import type { Logger } from 'pino';
import { logEvent } from '../observe/index.js';
import type { Store } from '../store/index.js';

/** What the delivery engine asks: is this recipient held, and the scan's refresh. */
export interface HoldGate {
  /** Reloads when the hold version changed; acknowledges once `sendingHeld()` is false. */
  refresh(sendingHeld: (held: (address: string) => boolean) => boolean): Promise<void>;
  isHeld(address: string): boolean;
}

/** A node writes its heartbeat at least this often, also with nothing to acknowledge. */
export const HEARTBEAT_MS = 5000;

const lower = (a: string): string => a.trim().toLowerCase();

/** The held addresses as a set; pure, so the engine's checks are cheap and unit-testable. */
export class HoldSet {
  #held = new Set<string>();
  version = -1;

  replace(version: number, addresses: readonly string[]): void {
    this.#held = new Set(addresses.map(lower));
    this.version = version;
  }

  has(address: string): boolean {
    if (this.#held.size === 0) return false;
    const a = lower(address);
    if (this.#held.has(a)) return true;
    // user+tag@domain (RFC 5233 subaddress) reaches user@domain's mailbox.
    const at = a.lastIndexOf('@');
    const plus = a.indexOf('+');
    return plus > 0 && plus < at && this.#held.has(`${a.slice(0, plus)}${a.slice(at)}`);
  }

  get size(): number {
    return this.#held.size;
  }
}

/** The store-backed gate of one gateway node. */
export class StoreHoldGate implements HoldGate {
  readonly set = new HoldSet();
  #acked = -1;
  #beatAt = -Infinity;

  constructor(
    private readonly store: Pick<Store, 'cutover'>,
    readonly node: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  isHeld(address: string): boolean {
    return this.set.has(address);
  }

  async refresh(sendingHeld: (held: (address: string) => boolean) => boolean): Promise<void> {
    try {
      const version = await this.store.cutover.holdVersion();
      if (version !== this.set.version) {
        const r = await this.store.cutover.heldAddresses();
        this.set.replace(r.version, r.addresses);
        logEvent(this.log, 'gateway.hold.loaded', { version: r.version, addresses: r.addresses.length });
      }
      const canAck = this.set.version > this.#acked && !sendingHeld((a) => this.set.has(a));
      if (canAck || this.now() - this.#beatAt >= HEARTBEAT_MS) {
        const ack = canAck ? this.set.version : this.#acked;
        await this.store.cutover.reportNode(this.node, Math.max(ack, 0));
        this.#acked = ack;
        this.#beatAt = this.now();
      }
    } catch (err) {
      // The old hold set stays in force; without our acknowledgement a cutover waits, then rolls back.
      logEvent(this.log, 'gateway.hold.failed', { err });
    }
  }
}
