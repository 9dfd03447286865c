/**
 * Unit tests of the cutover step machine: a real in-memory SQLite store, the
 * migration engine faked (CutoverOps), a gateway node simulated through the
 * store's hold version and node rows, a fake clock (no real timers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../observe/index.js';
import { MigrationState } from '../migration/index.js';
import { openStore, type Store } from '../store/index.js';
import { deltaPassPlan, runSteps, type CutoverDeps, type CutoverOps, type PassOutcome } from './index.js';

const A = 'ann@example.com';

interface Fixture { store: Store; deps: CutoverDeps; calls: string[]; clock: { t: number }; gateway: { live: boolean; acks: boolean; sendingUntil: number } }

async function fixture(over: Partial<CutoverOps> = {}, engineState = 'synced'): Promise<Fixture> {
  const clock = { t: 1_000_000 };
  const store = await openStore({ sqlite: ':memory:', now: () => clock.t });
  await store.users.upsert({ address: A, homeSystem: 'legacy', aliases: ['a.nn@example.com'], migrationState: engineState === 'synced' ? 'synced' : 'failed' });
  await new MigrationState(store.db, () => clock.t).setUser(A, { state: engineState, error: engineState === 'failed' ? 'boom' : null });
  const calls: string[] = [];
  const gateway = { live: true, acks: true, sendingUntil: 0 };
  const ok: PassOutcome = { ok: true, unreachable: false, counts: { seen: 3, appended: 3 } };
  const ops: CutoverOps = {
    delta: async () => { calls.push(`delta held=${(await store.cutover.holds()).length}`); return ok; },
    verify: async () => { calls.push('verify'); return { ok: true, unreachable: false, differences: 0 }; },
    copyBack: async () => { calls.push('copy-back'); return ok; },
    lastPass: async (a) => { const r = await new MigrationState(store.db).user(a); return r ? { state: r.state, error: r.error } : undefined; },
    ...over,
  };
  // A gateway node: every poll it reloads the version and acknowledges it, unless a delivery is "in flight".
  const sleep = async (ms: number): Promise<void> => {
    clock.t += ms;
    if (!gateway.live) return;
    const v = await store.cutover.holdVersion();
    const seen = gateway.acks && clock.t >= gateway.sendingUntil ? v : (await store.cutover.nodes())[0]?.holdVersionSeen ?? 0;
    await store.cutover.reportNode('gw1', seen);
  };
  await store.cutover.reportNode('gw1', 0);
  const deps: CutoverDeps = { store, ops, from: 'legacy', to: 'cloud', log: silentLogger(), settleMs: 500, ackTimeoutMs: 5000, pollMs: 100,
    now: () => clock.t, sleep };
  return { store, deps, calls, clock, gateway };
}

test('happy path: hold, ack, settle, delta under the hold, verify, flip, release; recorded', async () => {
  const f = await fixture();
  f.gateway.sendingUntil = f.clock.t + 350; // a delivery to ann is in flight: the ack waits for it
  const r = await runSteps(f.deps, 'cutover', A);
  assert.equal(r.status, 'done', r.error);
  assert.deepEqual(r.steps.map((s) => s.step), ['precheck', 'hold', 'ack', 'settle', 'delta', 'verify', 'flip', 'release']);
  assert.deepEqual(f.calls, ['verify', 'delta held=1', 'verify'], 'pre-check verify, then the final pass while held, then verify');
  const u = await f.store.users.get(A);
  assert.equal(u?.homeSystem, 'cloud');
  assert.equal(u?.migrationState, 'cutover');
  assert.equal((await new MigrationState(f.store.db).user(A))?.state, 'cutover');
  assert.equal((await f.store.cutover.holds()).length, 0, 'released');
  assert.ok(r.heldMs !== null && r.heldMs >= 400 + 500, `held through the in-flight delivery and the settle time (${r.heldMs})`);
  const rec = await f.store.cutover.record(r.recordId);
  assert.equal(rec?.status, 'done');
  assert.ok(rec?.heldAt && rec.ackedAt && rec.releasedAt && rec.ackedAt >= rec.heldAt && rec.releasedAt >= rec.ackedAt);
  assert.deepEqual(r.gateway.acked, ['gw1']);
  assert.equal((await f.store.cutover.user(A))?.state, 'cutover');
});

test('the final delta pass fails: rolled back to the old home, hold released, nothing flipped', async () => {
  const f = await fixture({ delta: async () => ({ ok: false, unreachable: true, error: 'connection refused' }) });
  const r = await runSteps(f.deps, 'cutover', A);
  assert.equal(r.status, 'rolled-back');
  assert.equal(r.failedStep, 'delta');
  assert.equal(r.unreachable, true);
  assert.match(r.error ?? '', /connection refused/);
  assert.equal((await f.store.users.get(A))?.homeSystem, 'legacy');
  assert.equal((await f.store.cutover.holds()).length, 0);
  assert.equal((await f.store.cutover.record(r.recordId))?.failedStep, 'delta');
});

test('verify after the pass differs: rolled back; the flip never happened', async () => {
  let n = 0;
  const f = await fixture({ verify: async () => (++n === 1 ? { ok: true, unreachable: false } : { ok: false, unreachable: false, differences: 2 }) });
  const r = await runSteps(f.deps, 'cutover', A);
  assert.equal(r.status, 'rolled-back');
  assert.equal(r.failedStep, 'verify');
  assert.equal((await f.store.users.get(A))?.migrationState, 'synced');
});

test('pre-checks refuse without touching anything: failed last pass, unknown user, already cut over', async () => {
  const f = await fixture({}, 'failed');
  const v0 = await f.store.cutover.holdVersion();
  const r = await runSteps(f.deps, 'cutover', A);
  assert.equal(r.status, 'refused');
  assert.match(r.error ?? '', /did not finish cleanly/);
  assert.equal(await f.store.cutover.holdVersion(), v0, 'no hold was placed');
  const r2 = await runSteps(f.deps, 'cutover', 'nobody@example.com');
  assert.equal(r2.status, 'refused');
  assert.match(r2.error ?? '', /not in the unified directory/);
  const r3 = await runSteps(f.deps, 'cutover', 'a.nn@example.com');
  assert.match(r3.error ?? '', /alias of ann@example.com/);
});

test('a live gateway node that never acknowledges: ack times out, rolled back', async () => {
  const f = await fixture();
  f.gateway.acks = false;
  const r = await runSteps(f.deps, 'cutover', A);
  assert.equal(r.status, 'rolled-back');
  assert.equal(r.failedStep, 'ack');
  assert.match(r.error ?? '', /gw1 did not acknowledge/);
  assert.equal((await f.store.cutover.holds()).length, 0);
});

test('no live gateway node: the cutover proceeds and says so', async () => {
  const f = await fixture();
  f.gateway.live = false;
  f.clock.t += 60_000; // gw1's heartbeat is old now
  const r = await runSteps(f.deps, 'cutover', A);
  assert.equal(r.status, 'done');
  assert.equal(r.gateway.noneLive, true);
});

test('rollback: hold, copy back, home returns, then delta passes resume for the user', async () => {
  const f = await fixture();
  assert.equal((await runSteps(f.deps, 'cutover', A, { keepSyncingMs: 60_000 })).status, 'done');
  let plan = await deltaPassPlan(f.store, [{ address: A }], f.clock.t);
  assert.deepEqual(plan.keepSyncing, [A], 'inside the --keep-syncing grace');
  plan = await deltaPassPlan(f.store, [{ address: A }], f.clock.t + 120_000);
  assert.deepEqual(plan.skipped, [A], 'after the grace the cut-over user is skipped');
  f.calls.length = 0;
  const r = await runSteps(f.deps, 'rollback', A);
  assert.equal(r.status, 'done', r.error);
  assert.deepEqual(f.calls, ['copy-back']);
  const u = await f.store.users.get(A);
  assert.equal(u?.homeSystem, 'legacy');
  assert.notEqual(u?.migrationState, 'cutover');
  assert.equal((await f.store.cutover.user(A))?.state, 'rolled-back');
  assert.deepEqual((await deltaPassPlan(f.store, [{ address: A }], f.clock.t)).run.map((x) => x.address), [A]);
  const again = await runSteps(f.deps, 'rollback', A);
  assert.equal(again.status, 'refused', 'a user who is not cut over cannot be rolled back');
});

test('verifyMode after: no verify under the hold, the full verify right after the release, reported', async () => {
  let n = 0;
  const f = await fixture({ verify: async () => { n++; f.calls.push(`verify held=${(await f.store.cutover.holds()).length}`); return n === 1 ? { ok: true, unreachable: false } : { ok: false, unreachable: false, differences: 1, error: '1 difference' }; } });
  f.deps.verifyMode = 'after';
  const r = await runSteps(f.deps, 'cutover', A);
  assert.equal(r.status, 'done', 'a difference after the release is reported, not rolled back');
  assert.deepEqual(f.calls, ['verify held=0', 'delta held=1', 'verify held=0']);
  assert.deepEqual(r.verifyAfter, { ok: false, error: '1 difference' });
  assert.equal(r.steps.at(-1)?.step, 'verify-after');
});

test('pre-check tolerates what the final pass resolves (new mail on the source), not other differences', async () => {
  let n = 0;
  const f = await fixture({ verify: async () => (++n === 1 ? { ok: false, unreachable: false, differences: 2, deltaResolves: true } : { ok: true, unreachable: false }) });
  assert.equal((await runSteps(f.deps, 'cutover', A)).status, 'done');
  const g = await fixture({ verify: async () => ({ ok: false, unreachable: false, differences: 1, deltaResolves: false, error: '1 content' }) });
  const r = await runSteps(g.deps, 'cutover', A);
  assert.equal(r.status, 'refused');
  assert.match(r.error ?? '', /verify is not clean/);
});
