/**
 * Multi-node claiming of migration users (DESIGN.md "One machine, then many";
 * columns of store migration 008-migration-lease). A worker claims a user before
 * copying: on PostgreSQL the user's row is locked with SELECT ... FOR UPDATE SKIP
 * LOCKED inside a transaction (a row another node is claiming right now is
 * skipped, never waited for), then written when no live lease is on it; on
 * SQLite (one file, one writer at a time) one conditional UPDATE does the same.
 * The lease is renewed while the user is copied and cleared at the end; a
 * crashed worker's lease expires and the next worker takes the user over.
 *
 * Expiry is epoch ms from the workers' clocks: their skew must stay well below
 * the lease time (migration.leaseTime, default 60 s). A lease whose owner is a
 * process of this machine that no longer exists (kill -9, then `migrate run`
 * again) is taken over at once instead of after its expiry.
 *
 * Given a logger, claim and release log migration.lease.claimed, .takeover
 * (with the reason: expired, or owner process gone), .busy and .released.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isPostgres } from '../store/index.js';
import type { Database } from '../store/index.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';

/** The default of migration.leaseTime. */
export const DEFAULT_LEASE_MS = 60_000;

/** Why an existing lease of another worker was replaced: it ran out, or its owner is a process of this host that is gone. */
export type TakeoverReason = 'expired' | 'owner-gone';

export interface LeaseLog {
  log?: Logger;
  metrics?: Metrics;
}

export interface LeaseHolder {
  owner: string;
  /** Epoch ms; null when another node held the row lock during the claim (it is claiming the user right now). */
  expires: number | null;
}

export type ClaimResult =
  | { claimed: true; lease: UserLease; /** The expired lease of a crashed (or stalled) worker that this claim replaced. */ tookOver?: LeaseHolder & { reason: TakeoverReason } }
  | { claimed: false; holder: LeaseHolder };

/** A worker id unique per call: host, process and a random part (two runs in one process never share it). */
export function newLeaseOwner(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

type Db = Kysely<Database>;

/** True when `owner` names a process of this host (newLeaseOwner's form) that is gone. */
export function ownerIsDeadLocally(owner: string): boolean {
  const [host, pidText] = owner.split('/');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}


const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class UserLease {
  private constructor(private readonly db: Db, readonly address: string, readonly owner: string,
    private readonly ttlMs: number, private readonly now: () => number, private readonly logTo: LeaseLog = {}) {}

  /**
   * Claims `address` for `owner` for `ttlMs`. The user's row is created
   * ('pending') when it does not exist yet, so there is a row to lock.
   */
  static async claim(db: Db, address: string, owner: string, ttlMs: number = DEFAULT_LEASE_MS, now: () => number = Date.now, logTo: LeaseLog = {}): Promise<ClaimResult> {
    const r = await UserLease.#claim(db, address, owner, ttlMs, now, logTo);
    const { log, metrics } = logTo;
    if (log) {
      const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
      if (!r.claimed) {
        logEvent(log, 'migration.lease.busy', { address, owner, holder: r.holder.owner, holderExpires: iso(r.holder.expires) }, undefined, metrics);
      } else if (r.tookOver) {
        logEvent(log, 'migration.lease.takeover', { address, owner, previousOwner: r.tookOver.owner, previousExpires: iso(r.tookOver.expires), reason: r.tookOver.reason, leaseMs: ttlMs }, undefined, metrics);
      } else {
        logEvent(log, 'migration.lease.claimed', { address, owner, leaseMs: ttlMs }, undefined, metrics);
      }
    }
    return r;
  }

  static async #claim(db: Db, address: string, owner: string, ttlMs: number, now: () => number, logTo: LeaseLog): Promise<ClaimResult> {
    const t = now();
    await db.insertInto('migration_users').values({ address, state: 'pending', updated_at: t })
      .onConflict((oc) => oc.column('address').doNothing()).execute();
    const lease = new UserLease(db, address, owner, ttlMs, now, logTo);
    if (isPostgres(db)) {
      return db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('migration_users').select(['lease_owner', 'lease_expires'])
          .where('address', '=', address).forUpdate().skipLocked().executeTakeFirst();
        if (!row) return { claimed: false, holder: { owner: 'another node (claiming it now)', expires: null } };
        const expires = num(row.lease_expires);
        const other = row.lease_owner !== null && row.lease_owner !== owner;
        if (other && expires !== null && expires >= t && !ownerIsDeadLocally(row.lease_owner!)) return { claimed: false, holder: { owner: row.lease_owner!, expires } };
        await tx.updateTable('migration_users').set({ lease_owner: owner, lease_expires: t + ttlMs }).where('address', '=', address).execute();
        const reason: TakeoverReason = expires === null || expires < t ? 'expired' : 'owner-gone';
        return other ? { claimed: true, lease, tookOver: { owner: row.lease_owner!, expires, reason } } : { claimed: true, lease };
      });
    }
    const before = await db.selectFrom('migration_users').select(['lease_owner', 'lease_expires']).where('address', '=', address).executeTakeFirst();
    const res = await db.updateTable('migration_users').set({ lease_owner: owner, lease_expires: t + ttlMs })
      .where('address', '=', address)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_expires', 'is', null), eb('lease_expires', '<', t)]))
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 1) {
      const prev = before?.lease_owner ?? null;
      return prev !== null && prev !== owner ? { claimed: true, lease, tookOver: { owner: prev, expires: num(before?.lease_expires), reason: 'expired' } } : { claimed: true, lease };
    }
    const holder = await db.selectFrom('migration_users').select(['lease_owner', 'lease_expires']).where('address', '=', address).executeTakeFirst();
    if (holder?.lease_owner && ownerIsDeadLocally(holder.lease_owner)) {
      // Compare-and-swap on the dead owner: of two claimers only one wins.
      const took = await db.updateTable('migration_users').set({ lease_owner: owner, lease_expires: t + ttlMs })
        .where('address', '=', address).where('lease_owner', '=', holder.lease_owner).executeTakeFirst();
      if (Number(took.numUpdatedRows) === 1) return { claimed: true, lease, tookOver: { owner: holder.lease_owner, expires: num(holder.lease_expires), reason: 'owner-gone' } };
    }
    return { claimed: false, holder: { owner: holder?.lease_owner ?? 'another node', expires: num(holder?.lease_expires) } };
  }

  /** Moves the expiry forward; false when the lease is no longer ours (it expired and another worker took the user). */
  async renew(): Promise<boolean> {
    const res = await this.db.updateTable('migration_users').set({ lease_expires: this.now() + this.ttlMs })
      .where('address', '=', this.address).where('lease_owner', '=', this.owner).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Clears the lease if it is still ours. */
  async release(): Promise<void> {
    const res = await this.db.updateTable('migration_users').set({ lease_owner: null, lease_expires: null })
      .where('address', '=', this.address).where('lease_owner', '=', this.owner).executeTakeFirst();
    const { log, metrics } = this.logTo;
    if (log && Number(res.numUpdatedRows) === 1) logEvent(log, 'migration.lease.released', { address: this.address, owner: this.owner }, undefined, metrics);
  }

  /**
   * Renews every ttl/3 until stopped; `onLost` runs once when a renewal finds
   * the lease gone (the pass must stop: another worker copies the user now).
   * A failed renewal (store unreachable) is retried at the next tick.
   */
  heartbeat(onLost: () => void, onError: (err: unknown) => void = () => undefined): () => Promise<void> {
    let running: Promise<void> = Promise.resolve();
    let lost = false;
    const timer = setInterval(() => {
      running = running.then(async () => {
        if (lost) return;
        try {
          if (!(await this.renew())) {
            lost = true;
            onLost();
          }
        } catch (err) {
          onError(err);
        }
      });
    }, Math.max(10, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }
}
