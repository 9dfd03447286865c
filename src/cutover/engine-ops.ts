/**
 * CutoverOps from the migration engine's public API (src/migration/index.ts):
 * the final delta pass is migrateUser (a delta pass when state exists),
 * verify is verifyUser (the pre-check's full verify keeps its hashes; the quick
 * verify under the hold reuses them, verify.ts), the copy back is migrateUser in the other direction
 * on the cutover_back_* state (copy-back.ts).
 */
import type { EngineDeps, MigrationUser, UserPassReport, UserVerify, VerifyCache } from '../migration/index.js';
import { MigrationState, migrateUser, verifyUser } from '../migration/index.js';
import { backStateDb, mirrorIntoForward, seedBackState } from './copy-back.js';
import type { CutoverOps, PassOutcome } from './steps.js';

export function passOutcome(r: UserPassReport): PassOutcome {
  const refused = r.refusals.length;
  const error = r.error?.message ?? (refused ? `${refused} message(s) refused by the target` : undefined);
  return { ok: r.ok && !r.error && refused === 0, unreachable: r.error?.unreachable === true, ...(error ? { error } : {}),
    counts: { seen: r.totals.seen, appended: r.totals.appended, matched: r.totals.matched, flagsUpdated: r.totals.flagsUpdated, refused, ms: r.ms } };
}

export function verifyOutcome(v: UserVerify): PassOutcome {
  const first = v.differences[0];
  const kinds = [...new Set(v.differences.map((d) => d.kind))].map((k) => `${v.differences.filter((d) => d.kind === k).length} ${k}`).join(', ');
  const error = v.error?.message ?? (first ? `${v.differences.length} difference(s) (${kinds}), first: ${first.kind} ${first.folder}: ${first.detail}` : undefined);
  const deltaResolves = !v.error && v.differences.every((d) => d.kind === 'flags' || (d.kind === 'missing' && d.sourceUid !== undefined));
  return { ok: v.ok, unreachable: v.error?.unreachable === true, differences: v.differences.length, deltaResolves, ...(v.hashed !== undefined ? { hashed: v.hashed } : {}), ...(error ? { error } : {}) };
}

/**
 * `users` gives per-user logins (the users CSV); an address not in it logs in
 * through the admin (master) login. `now` is the clock of the back-map rows.
 */
export function engineOps(deps: EngineDeps, users: readonly MigrationUser[] = [], now: () => number = Date.now): CutoverOps {
  const byAddress = new Map(users.map((u) => [u.address.toLowerCase(), u]));
  const userOf = (address: string): MigrationUser => byAddress.get(address) ?? { address };
  // The pre-check's hashes per address, until the quick verify under the hold uses them.
  const hashes = new Map<string, VerifyCache>();
  const reversed = (u: MigrationUser): MigrationUser => ({ address: u.address, ...(u.target ? { source: u.target } : {}), ...(u.source ? { target: u.source } : {}) });
  return {
    delta: async (address) => passOutcome(await migrateUser(deps, userOf(address))),
    verify: async (address, mode = 'full') => {
      const known = mode === 'quick' ? hashes.get(address) : undefined;
      hashes.delete(address);
      // Quick without an earlier verify of this address in this process: the full verify.
      const v = await verifyUser(deps, userOf(address), { keep: mode === 'full', ...(known ? { known } : {}) });
      const out = verifyOutcome(v);
      if (mode === 'full' && v.cache && !v.error && (out.ok || out.deltaResolves)) hashes.set(address, v.cache);
      return { ...out, quick: known !== undefined };
    },
    lastPass: async (address) => {
      const row = await new MigrationState(deps.db).user(address);
      return row ? { state: row.state, error: row.error } : undefined;
    },
    copyBack: async (address) => {
      const seeded = await seedBackState(deps.db, address, now());
      // The folder rules name source folders of the forward direction: not applied backwards. Never delete anything.
      const { folders: _rules, ...migration } = deps.migration;
      const back: EngineDeps = { ...deps, migration: { ...migration, from: deps.migration.to, to: deps.migration.from, deleteOnTarget: false },
        source: deps.target, target: deps.source, db: backStateDb(deps.db) };
      const out = passOutcome(await migrateUser(back, reversed(userOf(address))));
      const mirrored = out.ok ? await mirrorIntoForward(deps.db, address, now()) : 0;
      return { ...out, counts: { ...out.counts, seeded, mirrored } };
    },
  };
}
