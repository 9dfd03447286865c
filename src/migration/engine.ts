/**
 * One pass over users: per user, open the source (EXAMINE only) and target
 * sessions through the admin login, plan the folders, create them on the target,
 * and sync folder after folder. Users run `concurrency` at a time; a user's
 * failure is recorded with its reason and the others go on.
 */
import type { ImapFlow } from 'imapflow';
import { MbError, describeError, settleAll } from '../core/index.js';
import type { MigrationConfig, SystemConfig } from '../config/index.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { MigrationErrors } from './errors.js';
import { ensureTargetFolders, planUserFolders, targetInfo } from './folders.js';
import type { MappingPlan } from '../protocol/imap/index.js';
import { closeSession } from './session.js';
import { openBothSides, openLanes, openSource, openTarget, prefetchStatus, serverKey, sourceSessions } from './connections.js';
import { backoffFor, classifyFailure, type RetryDecision } from './retry.js';
import { ServerLimiter, isThrottle, throttledSide } from './throttle.js';
import { MigrationState } from './state.js';
import { DEFAULT_LEASE_MS, UserLease, newLeaseOwner, type LeaseHolder } from './lease.js';
import { syncFolder } from './sync-folder.js';
import { runLanes } from './lanes.js';
import { SharedReader } from './shared-reader.js';
import { countNew } from './plan.js';
import { addCounts, emptyCounts, type MigrationUser, type ProgressEvent, type UserPassReport } from './types.js';

export interface EngineDeps {
  migration: MigrationConfig;
  source: SystemConfig;
  target: SystemConfig;
  db: Kysely<Database>;
  log: Logger;
  metrics?: Metrics;
  onProgress?: (e: ProgressEvent) => void;
  /**
   * Target connections per user that APPEND in parallel. Default: 2 for a user copied alone (migrateUser, or
   * migrateUsers with one user at a time), 1 when migrateUsers copies several users at once (see there).
   */
  appendConnections?: number;
  /** Folders of one user copied at once, each on connections of its own (default migration.foldersInParallel, else 2; see lanes.ts lanesFor). */
  folderLanes?: number;
  /**
   * Lanes read through the first lane's source connection (shared-reader.ts; default true): a second lane costs a
   * login on the target only. false gives every lane a reader of its own.
   */
  shareReader?: boolean;
  /** The least a pass must expect to copy before it opens a second lane (default 1,000 messages). */
  laneMinMessages?: number;
  /** Messages per FETCH/APPEND batch (default copier.ts DEFAULT_BATCH, 500). */
  batchMessages?: number;
  /** Messages whose metadata and state rows are held at once per folder (default 2,000). */
  windowMessages?: number;
  /** Attempts after a dropped connection or throttling (default 3), first backoff (default 1 s), and the clock's sleep. */
  retries?: number;
  retryBaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Sessions per server for the run, lowered when a server throttles (migrateUsers makes one). */
  limiter?: ServerLimiter;
  /**
   * Multi-node claiming (lease.ts): this worker's id on the user leases (default:
   * host/pid/random, new per migrateUser call) and the lease time (default 60 s,
   * renewed every third of it while a user is copied).
   */
  leaseOwner?: string;
  leaseMs?: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function closeAll(sessions: ImapFlow[], closers: (() => void)[]): Promise<void> {
  for (const c of closers.splice(0)) c();
  await Promise.all(sessions.splice(0).map(closeSession));
}

/**
 * One attempt at the pass; a retry after a dropped connection runs it again and resumes from the stored state.
 * Two logins per user and lane where the servers allow (listing.ts, connections.ts): the lean reader lists the
 * source, the pipelined APPEND connection the target, and the target's imapflow control session opens only when a
 * folder needs it. Each lane starts its next folder once the last one is read and its APPENDs are sent (lanes.ts).
 */
async function onePass(deps: EngineDeps, user: MigrationUser, report: UserPassReport, state: MigrationState, log: Logger,
  sessions: ImapFlow[], closers: (() => void)[]): Promise<void> {
  if (report.dryRun) {
    const { source, plan } = await openBothSides(deps, user, sessions);
    recordPlan(report, plan);
    await dryRun(report, source, plan.mappings, state, user.address, deps.migration.skipDeleted);
    return;
  }
  const [{ reader, listing }, target] = await settleAll([openSource(deps, user, sessions, closers), openTarget(deps, user, sessions, closers)]);
  const info = targetInfo(target.listing);
  const { plan } = planUserFolders(listing, info, deps.migration);
  recordPlan(report, plan);
  // The target's folders are made and their STATUS asked while the source counts what there is to copy and the
  // other lanes log in: the start of a user waits for the longest of these, not for their sum.
  const [targetStatus, { work, lanes }] = await settleAll([
    ensureTargetFolders(target.maker, info, plan).then(() => target.status ? prefetchStatus(target.status, plan.mappings.map((m) => m.target)) : undefined),
    openLanes(deps, user, log, sessions, closers, { reader: new SharedReader(reader), target }, state, plan.mappings)]);
  const results = new Array<Awaited<ReturnType<typeof syncFolder>> | undefined>(plan.mappings.length);
  const failed = await runLanes(lanes, work, async (lane, i) => {
    const m = plan.mappings[i]!;
    deps.onProgress?.({ type: 'folder', address: user.address, folder: m.display.source, target: m.display.target, total: 0 });
    const status = lane.target.status;
    const r = await syncFolder({ address: user.address, reader: lane.reader, control: lane.target.control, appenders: lane.target.appenders,
      ...(status ? { targetStatus: async (wire: string) => targetStatus?.(wire) ?? status(wire) } : {}), state, log, skipDeleted: deps.migration.skipDeleted,
      deleteOnTarget: deps.migration.deleteOnTarget, ...(target.maxSize !== undefined ? { maxSize: target.maxSize } : {}),
      ...(deps.batchMessages ? { batchMessages: deps.batchMessages } : {}), ...(deps.windowMessages ? { windowMessages: deps.windowMessages } : {}),
      onBatch: (folder, messages, bytes) => deps.onProgress?.({ type: 'messages', address: user.address, folder, messages, bytes }) }, m);
    return { done: r.done.then(() => {
      results[i] = r;
      logEvent(log, 'migration.folder.synced', { folder: m.display.source, target: m.display.target, mode: r.report.mode,
        appended: r.report.appended, matched: r.report.matched, flags: r.report.flagsUpdated }, undefined, deps.metrics);
    }) };
  });
  // The report in plan order, whatever order the lanes finished in; folders done before a failure are reported too.
  for (const r of results) {
    if (!r) continue;
    report.folders.push(r.report);
    report.refusals.push(...r.refusals);
    if (r.dropped.length > 0) (report.droppedKeywords ??= []).push(...r.dropped);
    addCounts(report.totals, r.report);
  }
  if (failed) throw failed.error;
  for (const r of report.refusals) logEvent(log, 'migration.message.refused', { folder: r.folder, uid: r.uid, size: r.size, reason: r.reason }, undefined, deps.metrics);
  for (const k of report.droppedKeywords ?? []) logEvent(log, 'migration.keywords.dropped', { folder: k.folder, uid: k.uid, keywords: k.keywords }, undefined, deps.metrics);
  report.ok = report.refusals.length === 0;
}

function recordPlan(report: UserPassReport, plan: MappingPlan): void {
  report.merges = plan.merges.map((x) => ({ target: x.target, sources: x.sources }));
  report.collisions = plan.collisions;
}

/**
 * One pass for one user. Unless a dry run, the user is claimed first (lease.ts):
 * when another worker holds a live lease the pass does not run and the report
 * says "busy on another node" (not ok: the pass did not happen; migrateUsers
 * turns that into a skip). The lease is renewed while copying; if it is lost
 * (it expired and another worker took the user) the pass stops at once.
 */
export function migrateUser(deps: EngineDeps, user: MigrationUser, opts: { dryRun?: boolean } = {}): Promise<UserPassReport> {
  return runUser(deps, user, opts.dryRun === true, false);
}

function busyReport(deps: EngineDeps, user: MigrationUser, holder: LeaseHolder, skip: boolean, started: number): UserPassReport {
  const until = holder.expires === null ? null : new Date(holder.expires).toISOString();
  const report: UserPassReport = { address: user.address, ok: skip, dryRun: false, folders: [], totals: emptyCounts(), refusals: [], merges: [], collisions: [],
    busy: { owner: holder.owner, expires: until },
    error: { code: MigrationErrors.MIGRATION_USER_BUSY, message: `busy on another node: ${holder.owner} holds the lease${until ? ` until ${until}` : ''}`, unreachable: false },
    ms: Date.now() - started };
  const log = deps.log.child({ job: 'migrate', mailbox: user.address });
  logEvent(log, 'migration.user.finished', { ok: report.ok, busy: true, owner: holder.owner, leaseExpires: until, ms: report.ms }, 'Migration user skipped: busy on another node', deps.metrics);
  deps.onProgress?.({ type: 'user-start', address: user.address });
  deps.onProgress?.({ type: 'user-end', address: user.address, ok: report.ok, report });
  return report;
}

async function runUser(deps: EngineDeps, user: MigrationUser, dryRun: boolean, busyIsSkip: boolean): Promise<UserPassReport> {
  const started = Date.now();
  const state = new MigrationState(deps.db);
  const log = deps.log.child({ job: 'migrate', mailbox: user.address });
  let lease: UserLease | undefined;
  let tookOver: LeaseHolder | undefined;
  if (!dryRun) {
    const claim = await UserLease.claim(deps.db, user.address, deps.leaseOwner ?? newLeaseOwner(), deps.leaseMs ?? deps.migration.leaseTime ?? DEFAULT_LEASE_MS, Date.now, { log, ...(deps.metrics ? { metrics: deps.metrics } : {}) });
    if (!claim.claimed) return busyReport(deps, user, claim.holder, busyIsSkip, started);
    lease = claim.lease;
    tookOver = claim.tookOver;
  }
  // The sessions of the attempt running now: closed at once when the lease is lost.
  let current: { sessions: ImapFlow[]; closers: (() => void)[] } | undefined;
  let leaseLost = false;
  const stopHeartbeat = lease?.heartbeat(() => {
    leaseLost = true;
    if (current) void closeAll(current.sessions, current.closers);
  }, (err) => logEvent(log, 'migration.user.retrying', { lease: true, reason: describeError(err) }, 'Renewing the migration lease failed; retried at the next beat', deps.metrics));
  try {
    return await leasedPass(deps, user, dryRun, state, log, started, tookOver, (c) => { current = c; }, () => leaseLost);
  } finally {
    await stopHeartbeat?.();
    // A store that fails here leaves the lease to expire: another worker takes the user after DEFAULT_LEASE_MS.
    await lease?.release().catch((err: unknown) => logEvent(log, 'migration.user.retrying', { lease: true, reason: describeError(err) }, 'Releasing the migration lease failed; it expires on its own', deps.metrics));
  }
}

async function leasedPass(deps: EngineDeps, user: MigrationUser, dryRun: boolean, state: MigrationState, log: Logger, started: number, tookOver: LeaseHolder | undefined,
  setCurrent: (c: { sessions: ImapFlow[]; closers: (() => void)[] } | undefined) => void, leaseLost: () => boolean): Promise<UserPassReport> {
  const report: UserPassReport = { address: user.address, ok: true, dryRun, folders: [], totals: emptyCounts(),
    refusals: [], merges: [], collisions: [], ms: 0 };
  deps.onProgress?.({ type: 'user-start', address: user.address });
  // tookOverFrom: the worker whose lease had expired (it crashed or stalled); this one takes the user over.
  logEvent(log, 'migration.user.started', { dryRun: report.dryRun, ...(tookOver ? { tookOverFrom: tookOver.owner } : {}) }, undefined, deps.metrics);
  const prev = await state.user(user.address);
  if (!report.dryRun) await state.setUser(user.address, { state: 'copying', started_at: started, error: null, passes: (prev?.passes ?? 0) + 1 });
  for (let attempt = 0; ; attempt++) {
    const sessions: ImapFlow[] = [];
    const closers: (() => void)[] = [];
    const release = deps.limiter ? await deps.limiter.acquire([serverKey(deps, 'source'), serverKey(deps, 'target')]) : undefined;
    setCurrent({ sessions, closers });
    try {
      if (leaseLost()) throw new MbError(MigrationErrors.MIGRATION_LEASE_LOST, 'lease lost');
      await onePass(deps, user, report, state, log, sessions, closers);
      if (leaseLost()) throw new MbError(MigrationErrors.MIGRATION_LEASE_LOST, 'lease lost');
      delete report.error;
      break;
    } catch (err) {
      report.ok = false;
      if (leaseLost()) {
        report.error = { code: MigrationErrors.MIGRATION_LEASE_LOST, message: 'the lease on this user expired and another node took the user over: this pass stopped', unreachable: false };
        logEvent(log, 'migration.user.failed', { code: report.error.code, reason: report.error.message }, undefined, deps.metrics);
        break;
      }
      const decision = classifyFailure(err);
      report.error = { code: MbError.is(err) ? err.code : MigrationErrors.MIGRATION_IMAP_FAILED, message: describeError(err), unreachable: decision.action === 'retry' };
      if (decision.action === 'retry' && attempt < (deps.retries ?? 3) && !report.dryRun) {
        const wait = backoffFor(decision, attempt, deps.retryBaseMs ?? 1000);
        if (isThrottle(decision)) lowerConcurrency(deps, user, log, err, decision, wait, sessions.some((x) => sourceSessions.has(x) && x.byeReason !== undefined));
        report.retries = (report.retries ?? 0) + 1;
        logEvent(log, 'migration.user.retrying', { attempt: attempt + 1, rule: decision.rule, waitMs: wait, reason: report.error.message }, undefined, deps.metrics);
        await closeAll(sessions, closers);
        release?.();
        await (deps.sleep ?? defaultSleep)(wait);
        continue;
      }
      logEvent(log, 'migration.user.failed', { code: report.error.code, reason: report.error.message, rule: decision.rule }, undefined, deps.metrics);
      break;
    } finally {
      setCurrent(undefined);
      await closeAll(sessions, closers);
      release?.();
    }
  }
  report.ms = Date.now() - started;
  // A lost lease: the user's row belongs to the worker that took it over.
  if (!report.dryRun && !leaseLost()) {
    await state.setUser(user.address, {
      state: report.error ? 'failed' : 'synced', finished_at: Date.now(), counts: JSON.stringify({ ...report.totals, folders: report.folders.length }),
      error: report.error ? report.error.message : report.refusals.length > 0 ? `${report.refusals.length} message(s) refused by the target` : null,
    });
  }
  logEvent(log, 'migration.user.finished', { ok: report.ok, ...report.totals, ms: report.ms }, undefined, deps.metrics);
  deps.onProgress?.({ type: 'user-end', address: user.address, ok: report.ok, report });
  return report;
}

async function dryRun(report: UserPassReport, source: ImapFlow, mappings: { source: string; target: string; display: { source: string; target: string }; merged?: boolean }[],
  state: MigrationState, address: string, skipDeleted: boolean): Promise<void> {
  for (const m of mappings) {
    const stored = await state.folder(address, m.source);
    const c = emptyCounts();
    Object.assign(c, await countNew(source, m.source, stored?.highest_uid ?? 0, skipDeleted));
    report.folders.push({ source: m.display.source, target: m.display.target, mode: stored ? 'delta' : 'copy', ...(m.merged ? { merged: true } : {}), ...c });
    addCounts(report.totals, c);
  }
}

/** A throttling answer: fewer sessions on that server for the rest of the run, and its hint honoured (throttle.ts). */
function lowerConcurrency(deps: EngineDeps, user: MigrationUser, log: Logger, err: unknown, decision: RetryDecision, waitMs: number, sourceBye: boolean): void {
  if (!deps.limiter) return;
  const side = throttledSide(err, deps.source.name, sourceBye);
  const lowered = deps.limiter.throttled(serverKey(deps, side), waitMs);
  const system = side === 'source' ? deps.source.name : deps.target.name;
  logEvent(log, 'migration.concurrency.lowered', { system, rule: decision.rule, from: lowered.from, to: lowered.to, waitMs }, undefined, deps.metrics);
  deps.onProgress?.({ type: 'throttled', address: user.address, system, concurrency: lowered.to, waitMs });
}

/**
 * The engine's settings for a run of `usersAtOnce` users at the same time, where the caller left them open.
 *
 * Several users at once already give the target that many writers. A second APPEND connection per user then
 * only adds a second imap process saving into the same folder at the same moment (both create files in one
 * directory and contend for its lock: up to 40% of those processes' CPU spinning in the kernel, bench/RESULTS.md)
 * and one more login per user (~16 ms of server CPU each). With 8 users in parallel, 1 connection each cost the
 * target Dovecot 0.3-0.5 s less CPU per 12,000 messages at the same or better throughput (bench/RESULTS.md).
 * Two folders of a user at once (lanes.ts) are kept: each lane appends into a folder of its own. With 8 users at
 * once a second lane paid at 6,000 messages a user; at 1,500 two A/B runs disagreed (bench/RESULTS.md, session 10).
 */
export function runDeps(depsIn: EngineDeps, usersAtOnce: number, concurrency: number): EngineDeps {
  return { ...depsIn, limiter: depsIn.limiter ?? new ServerLimiter(concurrency, Date.now, depsIn.sleep ?? defaultSleep),
    ...(depsIn.appendConnections === undefined && usersAtOnce > 1 ? { appendConnections: 1 } : {}) };
}

/**
 * Runs users `concurrency` at a time; resolves with every report, in input order.
 * Each server gets `concurrency` sessions-of-a-user at most, fewer once it throttles.
 */
export async function migrateUsers(depsIn: EngineDeps, users: readonly MigrationUser[], opts: { concurrency: number; dryRun?: boolean }): Promise<UserPassReport[]> {
  const deps = runDeps(depsIn, Math.min(opts.concurrency, users.length), opts.concurrency);
  const out: UserPassReport[] = new Array<UserPassReport>(users.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency, users.length)) }, async () => {
    while (next < users.length) {
      const i = next++;
      // A user another node is copying is skipped, not failed ("busy on another node").
      out[i] = await runUser(deps, users[i]!, opts.dryRun === true, true);
    }
  });
  await Promise.all(workers);
  return out;
}
