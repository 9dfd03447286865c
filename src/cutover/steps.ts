/**
 * The step machine of one user's cutover (issue 8), and of its rollback, which
 * is the same sequence in the other direction:
 *
 *   precheck -> hold -> ack -> settle -> delta (copy-back) -> verify -> flip -> release
 *
 * precheck changes nothing (a failure there is "refused"). Any later failure
 * returns the user to the state before the hold: the flip undone (when it was
 * done), the hold removed, so held mail goes to the old home. Nothing is ever
 * deleted. Every attempt is one cutover_records row plus an audit entry.
 */
import type { Logger } from 'pino';
import { MbError, describeError } from '../core/index.js';
import { logEvent } from '../observe/index.js';
import type { CutoverRecord, Store, StoredUser } from '../store/index.js';
import { CutoverErrors, type CutoverErrorCode } from './errors.js';

/** What a migration pass or verify reported, reduced to what the cutover needs. */
export interface PassOutcome {
  ok: boolean;
  unreachable: boolean;
  error?: string;
  counts?: Record<string, number>;
  differences?: number;
  /** verify: every difference is one the next delta pass resolves (new on the source, flags changed). */
  deltaResolves?: boolean;
  /** verify: bodies fetched and hashed (both sides); quick: the hashes of the previous full verify were reused. */
  hashed?: number;
  quick?: boolean;
}

/** The migration engine as the cutover sees it (engine-ops.ts builds it from EngineDeps; unit tests fake it). */
export interface CutoverOps {
  /** The final delta pass, old system -> new. */
  delta(address: string): Promise<PassOutcome>;
  /**
   * 'full' (default) hashes every message on both sides (and keeps the hashes); 'quick' reuses the
   * previous full verify's hashes of this address, hashing only messages it did not see (or a full
   * verify when there was none). Counts, pairing, flags and INTERNALDATE are always read fresh.
   */
  verify(address: string, mode?: 'full' | 'quick'): Promise<PassOutcome>;
  /** Rollback: mail that arrived in the new system since the cutover, copied back to the old one. */
  copyBack(address: string): Promise<PassOutcome>;
  /** The migration engine's state of the user (migration_users). */
  lastPass(address: string): Promise<{ state: string; error: string | null } | undefined>;
}

export interface CutoverDeps {
  store: Pick<Store, 'cutover' | 'users' | 'audit'>;
  ops: CutoverOps;
  /** migration.from and migration.to */
  from: string;
  to: string;
  log: Logger;
  /** Wait after the acknowledgement, for a relay between gateway and mailbox (migration.cutover.settle). */
  settleMs: number;
  /** How long live gateway nodes get to acknowledge a hold (migration.cutover.ackTimeout). */
  ackTimeoutMs: number;
  /** A node with a heartbeat younger than this is live (30 s). */
  liveWindowMs?: number;
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  actor?: string;
  /**
   * migration.cutover.verify: 'hold' (default) verifies under the hold, before the flip, every message
   * (counts, UID map, flags, INTERNALDATE, RFC822.SIZE) but hashes only those the pre-check's full verify
   * did not hash (IMAP contents are immutable: the final pass' copies, mostly); 'full' re-hashes every
   * message under the hold (time held grows with the mailbox); 'after' relies on the pre-check's full verify plus the final pass' own report under the hold
   * (every message seen copied, none refused) and runs the full verify right after the release, so the
   * time held does not grow with the mailbox.
   */
  verifyMode?: 'hold' | 'after' | 'full';
}

export type Kind = 'cutover' | 'rollback';
export type Status = 'done' | 'refused' | 'rolled-back' | 'failed';

export interface StepReport { step: string; ok: boolean; ms: number; detail?: string }

export interface CutoverResult {
  address: string;
  kind: Kind;
  status: Status;
  recordId: string;
  failedStep?: string;
  code?: CutoverErrorCode;
  error?: string;
  /** A system could not be reached (exit 3). */
  unreachable: boolean;
  /** From hold to release; null when nothing was held. */
  heldMs: number | null;
  /** Recipients the gateway kept back during the hold (its 'held' tracking events). */
  heldMessages: number;
  steps: StepReport[];
  gateway: { live: number; acked: string[]; noneLive: boolean };
  delta?: Record<string, number>;
  /** verifyMode 'after': the full verify after the release (a difference is reported, not rolled back). */
  verifyAfter?: { ok: boolean; error?: string };
}

export const CUTOVER_STEPS = ['precheck', 'hold', 'ack', 'settle', 'delta', 'verify', 'flip', 'release'] as const;
export const ROLLBACK_STEPS = ['precheck', 'hold', 'ack', 'settle', 'copy-back', 'flip', 'release'] as const;
export type StepName = (typeof CUTOVER_STEPS)[number] | (typeof ROLLBACK_STEPS)[number];

class StepFailure extends Error {
  constructor(readonly code: CutoverErrorCode, message: string, readonly unreachable = false) {
    super(message);
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One run; fields are what later steps and the undo need. */
class Run {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly oldHome: string;
  readonly newHome: string;
  record!: CutoverRecord;
  user!: StoredUser;
  prior = { users: 'none', engine: undefined as string | undefined };
  holdVersion = 0;
  heldAt: number | null = null;
  releasedAt: number | null = null;
  flipped = false;
  readonly result: CutoverResult;

  constructor(readonly d: CutoverDeps, readonly kind: Kind, readonly address: string, readonly opts: RunOptions) {
    this.now = d.now ?? Date.now;
    this.sleep = d.sleep ?? defaultSleep;
    this.oldHome = kind === 'cutover' ? d.from : d.to;
    this.newHome = kind === 'cutover' ? d.to : d.from;
    this.result = { address, kind, status: 'done', recordId: '', unreachable: false, heldMs: null, heldMessages: 0, steps: [],
      gateway: { live: 0, acked: [], noneLive: false } };
  }

  get log(): Logger {
    return this.d.log;
  }

  async precheck(): Promise<string> {
    const { store, ops } = this.d;
    const u = await store.users.get(this.address);
    if (!u) throw new StepFailure(CutoverErrors.CUTOVER_REFUSED, `${this.address} is not in the unified directory (run directory sync first): routing could not follow a cutover`);
    if (u.address !== this.address) throw new StepFailure(CutoverErrors.CUTOVER_REFUSED, `${this.address} is an alias of ${u.address}: give the primary address`);
    this.user = u;
    this.prior.users = u.migrationState;
    const pass = await ops.lastPass(this.address);
    this.prior.engine = pass?.state;
    if (this.kind === 'rollback') {
      if (u.migrationState !== 'cutover' || u.homeSystem !== this.oldHome) {
        throw new StepFailure(CutoverErrors.CUTOVER_REFUSED, `${this.address} is not cut over (home ${u.homeSystem}, state ${u.migrationState})`);
      }
      return `cut over to ${u.homeSystem}`;
    }
    if (u.migrationState === 'cutover') throw new StepFailure(CutoverErrors.CUTOVER_REFUSED, `${this.address} is already cut over (home ${u.homeSystem})`);
    if (u.homeSystem !== this.oldHome) throw new StepFailure(CutoverErrors.CUTOVER_REFUSED, `${this.address} has home system ${u.homeSystem}, not ${this.oldHome} (migration.from)`);
    if (!pass || !['synced', 'verified'].includes(pass.state) || pass.error) {
      throw new StepFailure(CutoverErrors.CUTOVER_REFUSED, `the last migration pass of ${this.address} did not finish cleanly (state ${pass?.state ?? 'never run'}${pass?.error ? `: ${pass.error}` : ''}); run migrate run first`);
    }
    const v = await ops.verify(this.address);
    if (v.unreachable) throw new StepFailure(CutoverErrors.CUTOVER_UNREACHABLE, `verify could not reach a system: ${v.error ?? 'unreachable'}`, true);
    // Mail keeps arriving in the old mailbox until the hold: messages newer than the last pass (and flag
    // changes) are what the final delta pass copies; anything else (changed content, extra messages) refuses.
    if (!v.ok && v.deltaResolves !== true) throw new StepFailure(CutoverErrors.CUTOVER_REFUSED, `migrate verify is not clean for ${this.address}: ${v.error ?? `${v.differences ?? '?'} difference(s)`}`);
    return 'last pass clean, verify clean, target reachable';
  }

  async hold(): Promise<string> {
    this.holdVersion = await this.d.store.cutover.addHold(this.address, `${this.kind} ${this.record.id}`, this.record.id);
    this.heldAt = this.now();
    await this.d.store.cutover.updateRecord(this.record.id, { heldAt: this.heldAt });
    return `hold version ${this.holdVersion}`;
  }

  /** Every gateway node with a recent heartbeat must have loaded the hold with nothing in flight to the user. */
  async ack(): Promise<string> {
    const window = this.d.liveWindowMs ?? 30_000;
    const deadline = this.now() + this.d.ackTimeoutMs;
    for (;;) {
      const now = this.now();
      const live = (await this.d.store.cutover.nodes()).filter((n) => n.heartbeatAt >= now - window);
      const waiting = live.filter((n) => n.holdVersionSeen < this.holdVersion);
      this.result.gateway = { live: live.length, acked: live.filter((n) => n.holdVersionSeen >= this.holdVersion).map((n) => n.node), noneLive: live.length === 0 };
      if (live.length === 0) {
        logEvent(this.log, 'cutover.gateway.absent', { address: this.address, windowMs: window });
        await this.d.store.cutover.updateRecord(this.record.id, { ackedAt: this.now() });
        return `no gateway node with a heartbeat in the last ${Math.round(window / 1000)} s: nothing to wait for`;
      }
      if (waiting.length === 0) {
        await this.d.store.cutover.updateRecord(this.record.id, { ackedAt: this.now() });
        return `acknowledged by ${live.map((n) => n.node).join(', ')}`;
      }
      if (now >= deadline) {
        throw new StepFailure(CutoverErrors.CUTOVER_ACK_TIMEOUT, `gateway node(s) ${waiting.map((n) => n.node).join(', ')} did not acknowledge the hold within ${this.d.ackTimeoutMs} ms`);
      }
      await this.sleep(this.d.pollMs ?? 100);
    }
  }

  async settle(): Promise<string> {
    if (this.d.settleMs > 0) await this.sleep(this.d.settleMs);
    return `${this.d.settleMs} ms`;
  }

  async pass(which: 'delta' | 'copy-back'): Promise<string> {
    const r = which === 'delta' ? await this.d.ops.delta(this.address) : await this.d.ops.copyBack(this.address);
    if (r.counts) this.result.delta = r.counts;
    if (!r.ok) {
      throw new StepFailure(r.unreachable ? CutoverErrors.CUTOVER_UNREACHABLE : CutoverErrors.CUTOVER_DELTA_FAILED,
        `${which === 'delta' ? 'the final delta pass' : 'the copy back'} failed: ${r.error ?? 'see migrate status'}`, r.unreachable);
    }
    return r.counts ? `${r.counts.appended ?? 0} copied, ${r.counts.seen ?? 0} seen` : 'ok';
  }

  async verify(): Promise<string> {
    if (this.d.verifyMode === 'after') return 'final pass copied every message it saw (full verify after the release)';
    const v = await this.d.ops.verify(this.address, this.d.verifyMode === 'full' ? 'full' : 'quick');
    if (!v.ok) {
      throw new StepFailure(v.unreachable ? CutoverErrors.CUTOVER_UNREACHABLE : CutoverErrors.CUTOVER_VERIFY_FAILED,
        `verify after the final delta pass: ${v.error ?? `${v.differences ?? '?'} difference(s)`}`, v.unreachable);
    }
    const hashed = v.hashed !== undefined ? `, ${v.hashed} message(s) hashed` : '';
    return `clean (${v.quick ? 'quick: hashes of the pre-check reused' : 'full'}${hashed})`;
  }

  async flip(): Promise<string> {
    const cut = this.kind === 'cutover';
    const now = this.now();
    const ok = await this.d.store.cutover.flipHome(this.address, {
      home: this.newHome, migrationState: cut ? 'cutover' : 'synced',
      user: { state: cut ? 'cutover' : 'rolled-back', fromSystem: this.d.from, toSystem: this.d.to, cutOverAt: now,
        keepSyncingUntil: cut && this.opts.keepSyncingMs ? now + this.opts.keepSyncingMs : null, recordId: this.record.id },
    });
    if (!ok) throw new StepFailure(CutoverErrors.CUTOVER_STORE_FAILED, `${this.address} vanished from the directory during the cutover`);
    this.flipped = true;
    return `home ${this.oldHome} -> ${this.newHome}`;
  }

  async release(): Promise<string> {
    await this.d.store.cutover.removeHold(this.address);
    this.releasedAt = this.now();
    return `held mail goes to ${this.newHome}`;
  }

  /** Back to the state before the hold; returns what could not be undone. */
  async undo(): Promise<string | undefined> {
    const problems: string[] = [];
    if (this.flipped) {
      try {
        await this.d.store.cutover.flipHome(this.address, { home: this.oldHome, migrationState: this.prior.users,
          ...(this.prior.engine ? { engineState: this.prior.engine } : {}), user: null });
        this.flipped = false;
      } catch (err) {
        problems.push(`home could not be set back to ${this.oldHome}: ${describeError(err)}`);
      }
    }
    if (this.heldAt !== null && this.releasedAt === null) {
      try {
        await this.d.store.cutover.removeHold(this.address);
        this.releasedAt = this.now();
      } catch (err) {
        problems.push(`the hold could not be removed (mail stays queued, nothing is lost): ${describeError(err)}`);
      }
    }
    return problems.length ? problems.join('; ') : undefined;
  }
}

export interface RunOptions {
  wave?: string;
  /** Keep delta passes running for this long after the cutover (--keep-syncing). */
  keepSyncingMs?: number;
}

function stepFn(run: Run, step: StepName): () => Promise<string> {
  switch (step) {
    case 'precheck': return () => run.precheck();
    case 'hold': return () => run.hold();
    case 'ack': return () => run.ack();
    case 'settle': return () => run.settle();
    case 'delta': return () => run.pass('delta');
    case 'copy-back': return () => run.pass('copy-back');
    case 'verify': return () => run.verify();
    case 'flip': return () => run.flip();
    case 'release': return () => run.release();
  }
}

function failureOf(err: unknown): StepFailure {
  if (err instanceof StepFailure) return err;
  const transient = MbError.is(err) && err.retry === 'transient';
  return new StepFailure(transient ? CutoverErrors.CUTOVER_UNREACHABLE : CutoverErrors.CUTOVER_STORE_FAILED, describeError(err), transient);
}

/** Runs one user's cutover or rollback through its steps; never throws for a step's failure. */
export async function runSteps(d: CutoverDeps, kind: Kind, address: string, opts: RunOptions = {}): Promise<CutoverResult> {
  const run = new Run(d, kind, address.trim().toLowerCase(), opts);
  const r = run.result;
  run.record = await d.store.cutover.startRecord(run.address, kind, opts.wave ?? null);
  r.recordId = run.record.id;
  logEvent(d.log, 'cutover.started', { address: run.address, kind, recordId: r.recordId, ...(opts.wave ? { wave: opts.wave } : {}) });
  for (const step of kind === 'cutover' ? CUTOVER_STEPS : ROLLBACK_STEPS) {
    const t0 = run.now();
    try {
      const detail = await stepFn(run, step)();
      r.steps.push({ step, ok: true, ms: run.now() - t0, detail });
      logEvent(d.log, 'cutover.step', { address: run.address, kind, step, ms: run.now() - t0, detail });
    } catch (err) {
      const f = failureOf(err);
      r.steps.push({ step, ok: false, ms: run.now() - t0, detail: f.message });
      Object.assign(r, { failedStep: step, code: f.code, error: f.message, unreachable: f.unreachable });
      break;
    }
  }
  if (!r.failedStep && kind === 'cutover' && d.verifyMode === 'after') {
    const t0 = run.now();
    const v = await d.ops.verify(run.address).catch((err: unknown): PassOutcome => ({ ok: false, unreachable: true, error: describeError(err) }));
    r.verifyAfter = { ok: v.ok, ...(v.error ? { error: v.error } : {}) };
    r.steps.push({ step: 'verify-after', ok: v.ok, ms: run.now() - t0, detail: v.ok ? 'clean' : v.error ?? 'differences' });
  }
  await finish(run);
  return r;
}

async function finish(run: Run): Promise<void> {
  const { d, result: r } = run;
  if (r.failedStep === 'precheck') r.status = 'refused';
  else if (r.failedStep) {
    const left = await run.undo();
    r.status = left ? 'failed' : 'rolled-back';
    if (left) r.error = `${r.error}; undo: ${left}`;
  }
  if (run.heldAt !== null) {
    r.heldMs = (run.releasedAt ?? run.now()) - run.heldAt;
    const addresses = [run.address, ...(run.user?.aliases ?? [])];
    r.heldMessages = await d.store.cutover.heldEvents(addresses, run.heldAt).catch(() => 0);
  }
  await d.store.cutover.updateRecord(r.recordId, {
    status: r.status, failedStep: r.failedStep ?? null, error: r.error ?? null, finishedAt: run.now(), heldMs: r.heldMs,
    ...(run.releasedAt !== null ? { releasedAt: run.releasedAt } : {}),
    details: { steps: r.steps, gateway: r.gateway, ...(r.verifyAfter ? { verifyAfter: r.verifyAfter } : {}), heldMessages: r.heldMessages, ...(r.delta ? { delta: r.delta } : {}), from: run.oldHome, to: run.newHome },
  });
  await d.store.audit.record({ actor: d.actor ?? 'cli', action: `migrate.${run.kind}`, target: run.address,
    details: { status: r.status, recordId: r.recordId, heldMs: r.heldMs, ...(r.failedStep ? { failedStep: r.failedStep, error: r.error } : {}) } });
  const ev = r.status === 'done' ? 'cutover.done' : r.status === 'refused' ? 'cutover.refused' : 'cutover.failed';
  logEvent(d.log, ev, { address: run.address, kind: run.kind, status: r.status, heldMs: r.heldMs, heldMessages: r.heldMessages,
    ...(r.failedStep ? { step: r.failedStep, reason: r.error } : {}) });
}
