/**
 * Zero-loss cutover (issue 8): hold a user's inbound mail at every gateway
 * node, run the final delta pass and verify, flip the user's home system,
 * release the held mail to the new mailbox; roll back on any failure. Also the
 * rollback of a cut-over user, waves, and the rule that delta passes leave
 * cut-over users alone (unless --keep-syncing). The CLI and serve use only
 * this file.
 */
import type { Store } from '../store/index.js';
import { runSteps, type CutoverDeps, type CutoverResult, type RunOptions } from './steps.js';

export { CutoverErrors, type CutoverErrorCode } from './errors.js';
export {
  runSteps, CUTOVER_STEPS, ROLLBACK_STEPS, type CutoverDeps, type CutoverOps, type CutoverResult, type PassOutcome, type RunOptions,
  type StepReport, type StepName,
} from './steps.js';
export { engineOps, passOutcome, verifyOutcome } from './engine-ops.js';
export { backStateDb, seedBackState, mirrorIntoForward } from './copy-back.js';
export { WaveScheduler, waveReport, waveUsers, type WaveReport, type WaveSchedulerDeps } from './waves.js';

/** Cuts over each address (`concurrency` at a time); results in input order. */
export async function cutoverUsers(d: CutoverDeps, addresses: readonly string[], opts: RunOptions & { concurrency?: number } = {}): Promise<CutoverResult[]> {
  const out = new Array<CutoverResult>(addresses.length);
  let next = 0;
  const { concurrency = 1, ...run } = opts;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, addresses.length)) }, async () => {
    while (next < addresses.length) {
      const i = next++;
      out[i] = await runSteps(d, 'cutover', addresses[i]!, run);
    }
  }));
  return out;
}

export function rollbackUser(d: CutoverDeps, address: string): Promise<CutoverResult> {
  return runSteps(d, 'rollback', address);
}

/**
 * Which users a delta pass (migrate run, serve's schedule, a wave's pre-pass)
 * works on: cut-over users are skipped, unless their --keep-syncing grace is
 * still running (those are in `keepSyncing` too, so the caller can restore
 * their 'cutover' state after the pass).
 */
export async function deltaPassPlan<U extends { address: string }>(store: Pick<Store, 'cutover' | 'users'>, users: readonly U[], now = Date.now()):
  Promise<{ run: U[]; skipped: string[]; keepSyncing: string[] }> {
  const cut = new Map((await store.cutover.users()).filter((u) => u.state === 'cutover').map((u) => [u.address, u]));
  const run: U[] = [];
  const skipped: string[] = [];
  const keepSyncing: string[] = [];
  for (const u of users) {
    const a = u.address.toLowerCase();
    const c = cut.get(a);
    const unified = c ? undefined : await store.users.get(a);
    if (!c && unified?.migrationState !== 'cutover') run.push(u);
    else if (c?.keepSyncingUntil != null && c.keepSyncingUntil > now) {
      run.push(u);
      keepSyncing.push(a);
    } else skipped.push(a);
  }
  return { run, skipped, keepSyncing };
}

/** After a --keep-syncing pass: the engine's state of these users back to 'cutover' (the pass set it to synced). */
export async function restoreCutoverState(store: Pick<Store, 'db'>, addresses: readonly string[]): Promise<void> {
  if (addresses.length === 0) return;
  await store.db.updateTable('migration_users').set({ state: 'cutover' }).where('address', 'in', addresses.map((a) => a.toLowerCase())).execute();
}
