/**
 * The read-only commands for one user: `migrate plan` (source inventory, a measured sample, an estimate) and
 * `migrate verify` (every mapped target folder against its source folders). Both log in through imapflow and
 * change nothing on either side; verify only marks a synced user verified in the state.
 */
import type { ImapFlow } from 'imapflow';
import { MbError, describeError } from '../core/index.js';
import { logEvent } from '../observe/index.js';
import { MigrationErrors } from './errors.js';
import { closeSession } from './session.js';
import { announcedLimit, appendLimit, openBothSides } from './connections.js';
import { MigrationState } from './state.js';
import { newVerifyCache, verifyTarget, type UserVerify, type VerifyCache } from './verify.js';
import { ESTIMATE_METHOD, estimateSeconds, inventoryFolder, measureSample, type PlanFolder, type SampleResult } from './plan.js';
import type { EngineDeps } from './engine.js';
import type { MigrationUser } from './types.js';

/**
 * migrate verify for one user: every mapped target folder compared with its source folders.
 * `known`: a quick verify reusing the hashes of an earlier one (verify.ts); `keep`: return the hashes used as `cache`.
 */
export async function verifyUser(deps: EngineDeps, user: MigrationUser, opts: { known?: VerifyCache; keep?: boolean } = {}): Promise<UserVerify> {
  const state = new MigrationState(deps.db);
  const out: UserVerify = { address: user.address, ok: true, folders: [], differences: [], normalized: [], hashed: 0, ...(opts.keep ? { cache: newVerifyCache() } : {}) };
  const sessions: ImapFlow[] = [];
  try {
    const { source, target, info, plan } = await openBothSides(deps, user, sessions);
    const groups = new Map<string, typeof plan.mappings>();
    for (const m of plan.mappings) groups.set(m.target, [...(groups.get(m.target) ?? []), m]);
    for (const [t, group] of groups) {
      if (!info.existing.has(t) && t.toUpperCase() !== 'INBOX') {
        out.differences.push({ kind: 'missing', folder: group[0]!.display.source, target: group[0]!.display.target, detail: 'target folder does not exist' });
        continue;
      }
      await verifyTarget({ address: user.address, source, target, state, skipDeleted: deps.migration.skipDeleted, known: opts.known, keep: out.cache }, t, group, out);
    }
  } catch (err) {
    const unreachable = MbError.is(err) && err.retry === 'transient';
    out.error = { code: MbError.is(err) ? err.code : MigrationErrors.MIGRATION_IMAP_FAILED, message: describeError(err), unreachable };
  } finally {
    await Promise.all(sessions.map(closeSession));
  }
  out.ok = !out.error && out.differences.length === 0;
  for (const d of out.differences.slice(0, 100)) {
    logEvent(deps.log.child({ job: 'verify', mailbox: user.address }), 'migration.verify.difference', { ...d }, undefined, deps.metrics);
  }
  if (out.ok) {
    const prev = await state.user(user.address);
    if (prev && prev.state === 'synced') await state.setUser(user.address, { state: 'verified' });
  }
  return out;
}

export interface UserPlan {
  address: string;
  ok: boolean;
  folders: PlanFolder[];
  skipped: { source: string; reason: string }[];
  merges: { target: string; sources: string[] }[];
  collisions: { target: string; sources: string[] }[];
  warnings: { source: string; reason: string }[];
  totals: { messages: number; bytes: number; deleted: number; tooLarge: number };
  /** Known refusals before copying: over the size limit (all), NUL bytes and long lines (in the sample only). */
  refusals: { tooLarge: number; nulBytesInSample: number; longLinesInSample: number };
  sample: SampleResult;
  estimate: { seconds: number | null; method: string };
  error?: { code: string; message: string; unreachable: boolean };
}

/** migrate plan for one user: read-only on the source, LIST only on the target. */
export async function planUser(deps: EngineDeps, user: MigrationUser, opts: { sampleSize?: number } = {}): Promise<UserPlan> {
  const out: UserPlan = { address: user.address, ok: true, folders: [], skipped: [], merges: [], collisions: [], warnings: [],
    totals: { messages: 0, bytes: 0, deleted: 0, tooLarge: 0 }, refusals: { tooLarge: 0, nulBytesInSample: 0, longLinesInSample: 0 },
    sample: { messages: 0, bytes: 0, ms: 0, nulBytes: 0, longLines: 0 }, estimate: { seconds: null, method: ESTIMATE_METHOD } };
  const sessions: ImapFlow[] = [];
  try {
    const { source, target, plan } = await openBothSides(deps, user, sessions);
    Object.assign(out, { skipped: plan.skipped, merges: plan.merges.map((m) => ({ target: m.target, sources: m.sources })), collisions: plan.collisions, warnings: plan.warnings });
    const maxSize = appendLimit(deps, announcedLimit(target.capabilities));
    let best: { wire: string; uids: Uint32Array } | undefined;
    for (const m of plan.mappings) {
      const inv = await inventoryFolder(source, m.source, maxSize, deps.migration.skipDeleted, deps.windowMessages);
      out.folders.push({ source: m.display.source, target: m.display.target, reason: m.reason, merged: m.merged === true,
        messages: inv.messages, bytes: inv.bytes, deleted: inv.deleted, tooLarge: inv.tooLarge });
      for (const k of ['messages', 'bytes', 'deleted', 'tooLarge'] as const) out.totals[k] += inv[k];
      if (!best || inv.uids.length > best.uids.length) best = { wire: m.source, uids: inv.uids };
    }
    if (best && best.uids.length > 0) {
      out.sample = await measureSample(source, best.wire, best.uids.slice(-(opts.sampleSize ?? 50)));
    }
    out.refusals = { tooLarge: out.totals.tooLarge, nulBytesInSample: out.sample.nulBytes, longLinesInSample: out.sample.longLines };
    out.estimate.seconds = estimateSeconds(out.sample, out.totals.messages, out.totals.bytes);
  } catch (err) {
    out.ok = false;
    out.error = { code: MbError.is(err) ? err.code : MigrationErrors.MIGRATION_IMAP_FAILED, message: describeError(err), unreachable: MbError.is(err) && err.retry === 'transient' };
  } finally {
    await Promise.all(sessions.map(closeSession));
  }
  return out;
}
