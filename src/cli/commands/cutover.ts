/**
 * `mailbridge migrate cutover ADDRESS | --wave NAME | --all [--keep-syncing D]`
 * and `mailbridge migrate rollback ADDRESS` (issue 8), plus the wiring serve
 * uses for scheduled waves. Exit codes: 0 every user done; 1 a user was
 * refused, rolled back or failed; 2 bad usage; 3 a system could not be reached.
 */
import type { Command } from 'commander';
import { ExitCode, parseDuration } from '../../core/index.js';
import type { Config, WaveConfig } from '../../config/index.js';
import {
  WaveScheduler, cutoverUsers, deltaPassPlan, engineOps, restoreCutoverState, rollbackUser, waveReport, waveUsers,
  type CutoverDeps, type CutoverResult, type WaveReport,
} from '../../cutover/index.js';
import { runDirectorySync } from '../../directory/index.js';
import { migrateUsers, type EngineDeps, type MigrationUser } from '../../migration/index.js';
import type { Store } from '../../store/index.js';
import { createContext, openStoreFor, type Context, type GlobalOptions } from '../context.js';
import { CommandExit, printJson, printText } from '../output.js';
import { loadUsers } from './migrate.js';

/** The schema's defaults for migration.cutover, for configs built by hand (tests, benchmarks). */
const CUTOVER_DEFAULTS = { settle: 1000, ackTimeout: 60_000, concurrency: 4, verify: 'hold' as const };

function migrationOf(config: Config): NonNullable<Config['migration']> {
  const m = config.migration;
  if (!m) throw new CommandExit(ExitCode.badUsage, `${config.file}: migration: the section is missing (from, to, users)`);
  for (const key of ['from', 'to'] as const) {
    if (!config.systems[m[key]]?.imap) throw new CommandExit(ExitCode.badUsage, `${config.file}: migration.${key}: system ${JSON.stringify(m[key])} has no imap endpoint`);
  }
  return m;
}

/** Users with their logins (users CSV) when there is one; others log in through the admin login. */
async function knownUsers(ctx: Context, store: Store): Promise<MigrationUser[]> {
  try {
    return await loadUsers(ctx.config, {}, store);
  } catch (err) {
    if (err instanceof CommandExit && err.exitCode === ExitCode.badUsage && /^no users/.test(err.message)) return [];
    throw err;
  }
}

export function cutoverDeps(ctx: Context, store: Store, users: readonly MigrationUser[], actor = 'cli'): { deps: CutoverDeps; engine: EngineDeps; concurrency: number } {
  const m = migrationOf(ctx.config);
  const engine: EngineDeps = { migration: m, source: ctx.config.systems[m.from]!, target: ctx.config.systems[m.to]!, db: store.db, log: ctx.log, metrics: ctx.metrics };
  const c = m.cutover ?? CUTOVER_DEFAULTS;
  return {
    deps: { store, ops: engineOps(engine, users), from: m.from, to: m.to, log: ctx.log, settleMs: c.settle, ackTimeoutMs: c.ackTimeout, verifyMode: c.verify, actor },
    engine, concurrency: c.concurrency,
  };
}

/** One directory sync after the flips, so contacts follow the new homes now rather than at the next scheduled sync. */
async function syncContacts(ctx: Context, store: Store, flipped: number): Promise<string> {
  if (flipped === 0) return 'not needed';
  if (!Object.values(ctx.config.systems).some((s) => s.ldap || s.users || s.ldif)) return 'no directory source configured';
  try {
    const r = await runDirectorySync({ store, log: ctx.log, metrics: ctx.metrics, settings: ctx.config, ldap: { timeoutMs: ctx.config.check.timeout } }, { dryRun: false, allowDeletes: false });
    return r.status === 'ok' && r.errors.length === 0 ? 'directory synced: contacts reprovisioned' : `directory sync ${r.status}, ${r.errors.length} contact error(s): the next sync retries`;
  } catch (err) {
    return `directory sync failed (${(err as Error).message}): contacts follow at the next sync; routing has already flipped`;
  }
}

const secs = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);

export function resultLine(r: CutoverResult): string {
  const what = r.kind === 'cutover' ? 'cut over' : 'rolled back to the old system';
  const after = r.verifyAfter ? (r.verifyAfter.ok ? '; verify after the release clean' : `; VERIFY AFTER THE RELEASE DIFFERS: ${r.verifyAfter.error ?? ''}`) : '';
  if (r.status === 'done') return `ok      ${r.address}: ${what}; held ${secs(r.heldMs)}, ${r.heldMessages} message(s) held and released${r.gateway.noneLive ? ' (no live gateway node)' : ''}${after}`;
  if (r.status === 'refused') return `REFUSED ${r.address}: ${r.error ?? ''}`;
  const undone = r.kind === 'cutover' ? 'rolled back: routing stays on the old system, held mail released to it' : 'stays cut over, held mail released to the new system';
  return `${r.status === 'failed' ? 'FAILED ' : 'ROLLED BACK'} ${r.address}: step ${r.failedStep ?? '?'} failed: ${r.error ?? ''}; ${undone}`;
}

export function exitFor(results: readonly CutoverResult[]): number {
  if (results.some((r) => r.unreachable)) return ExitCode.unreachable;
  return results.every((r) => r.status === 'done' && r.verifyAfter?.ok !== false) ? ExitCode.ok : ExitCode.problemFound;
}

function findWave(config: Config, name: string): WaveConfig {
  const w = config.migration?.waves?.find((x) => x.name === name);
  if (!w) {
    const known = config.migration?.waves?.map((x) => x.name).join(', ') || 'none';
    throw new CommandExit(ExitCode.badUsage, `${config.file}: migration.waves: no wave named ${JSON.stringify(name)} (known: ${known})`);
  }
  return w;
}

interface CutoverOpts { wave?: string; all?: boolean; keepSyncing?: string; json?: boolean }

async function targetsOf(ctx: Context, store: Store, address: string | undefined, opts: CutoverOpts, users: MigrationUser[]): Promise<{ list: string[]; wave?: WaveConfig }> {
  const given = [address !== undefined, opts.wave !== undefined, opts.all === true].filter(Boolean).length;
  if (given !== 1) throw new CommandExit(ExitCode.badUsage, 'migrate cutover: give exactly one of ADDRESS, --wave NAME or --all');
  if (address) return { list: [address.toLowerCase()] };
  if (opts.wave) {
    const wave = findWave(ctx.config, opts.wave);
    const list = await waveUsers(wave, store, ctx.config.migration?.users);
    if (list.length === 0) throw new CommandExit(ExitCode.badUsage, `wave ${wave.name} has no users`);
    return { list, wave };
  }
  const plan = await deltaPassPlan(store, users);
  // --all: everyone not cut over yet (users inside a --keep-syncing grace are cut over already).
  return { list: plan.run.map((u) => u.address.toLowerCase()).filter((a) => !plan.keepSyncing.includes(a)) };
}

async function runCutoverCommand(program: Command, address: string | undefined, opts: CutoverOpts): Promise<void> {
  let keepSyncingMs: number | undefined;
  if (opts.keepSyncing !== undefined) {
    const d = parseDuration(opts.keepSyncing);
    if (!d.ok) throw new CommandExit(ExitCode.badUsage, `--keep-syncing: ${d.reason}`);
    keepSyncingMs = d.value;
  }
  const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
  migrationOf(ctx.config);
  const store = await openStoreFor(ctx);
  try {
    const users = await knownUsers(ctx, store);
    const { list, wave } = await targetsOf(ctx, store, address, opts, users);
    const { deps, concurrency } = cutoverDeps(ctx, store, users);
    const started = Date.now();
    const results = await cutoverUsers(deps, list, { concurrency, ...(wave ? { wave: wave.name } : {}), ...(keepSyncingMs ? { keepSyncingMs } : {}) });
    let report: WaveReport | undefined;
    if (wave) {
      report = waveReport(wave.name, null, results, started, Date.now());
      const { wave: run } = await store.cutover.claimWave(wave.name, started);
      await store.cutover.advanceWave(run.id, 'pre-delta', { status: report.failed.length || report.refused.length ? 'failed' : 'done', startedAt: started,
        finishedAt: Date.now(), report: report as unknown as Record<string, unknown> });
    }
    const contacts = await syncContacts(ctx, store, results.filter((r) => r.status === 'done').length);
    if (opts.json) printJson({ ok: results.every((r) => r.status === 'done'), users: results, contacts, ...(report ? { wave: report } : {}) });
    else {
      for (const r of results) printText(resultLine(r));
      if (report) printText(`wave ${report.wave}: ${report.done.length} of ${report.users} cut over, ${report.failed.length} rolled back or failed, ${report.refused.length} refused; ${report.heldMessages} message(s) held; time held max ${secs(report.heldMs.max)}, avg ${secs(report.heldMs.avg)}`);
      printText(`contacts: ${contacts}`);
    }
    process.exitCode = exitFor(results);
  } finally {
    await store.close();
  }
}

async function runRollbackCommand(program: Command, address: string, opts: { json?: boolean }): Promise<void> {
  const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
  migrationOf(ctx.config);
  const store = await openStoreFor(ctx);
  try {
    const users = await knownUsers(ctx, store);
    const { deps } = cutoverDeps(ctx, store, users);
    const r = await rollbackUser(deps, address);
    const contacts = await syncContacts(ctx, store, r.status === 'done' ? 1 : 0);
    if (opts.json) printJson({ ok: r.status === 'done', user: r, contacts });
    else {
      printText(resultLine(r));
      if (r.delta) printText(`  copied back: ${r.delta.appended ?? 0} message(s) that arrived in the new system since the cutover`);
      printText(`contacts: ${contacts}`);
    }
    process.exitCode = exitFor([r]);
  } finally {
    await store.close();
  }
}

/** Adds `cutover` and `rollback` under `migrate`. */
export function registerCutover(migrate: Command, program: Command): void {
  migrate.command('cutover [address]')
    .description('zero-loss switch to the new system: pre-checks, hold mail at the gateway, final delta pass, verify, flip the home system, release')
    .option('--wave <name>', 'the users of this wave (migration.waves), now')
    .option('--all', 'every migration user not yet cut over')
    .option('--keep-syncing <duration>', 'keep delta passes running this long after the cutover (late arrivals in the old mailbox)')
    .option('--json', 'print one JSON document')
    .action((address: string | undefined, opts: CutoverOpts) => runCutoverCommand(program, address, opts));
  migrate.command('rollback <address>')
    .description('move a cut-over user back: hold, copy back mail that arrived in the new system, flip the home back, release')
    .option('--json', 'print one JSON document')
    .action((address: string, opts: { json?: boolean }) => runRollbackCommand(program, address, opts));
}

/** The last cutover or rollback of a user, for `migrate status` (null when there was none). */
export async function cutoverStatus(store: Store, address: string): Promise<Record<string, unknown> | null> {
  const [rec] = await store.cutover.records(address, 1);
  if (!rec) return null;
  const u = await store.cutover.user(address);
  return {
    kind: rec.kind, status: rec.status, at: new Date(rec.startedAt).toISOString(), heldMs: rec.heldMs,
    heldMessages: (rec.details.heldMessages as number | undefined) ?? 0, failedStep: rec.failedStep, error: rec.error, recordId: rec.id,
    ...(u?.keepSyncingUntil ? { keepSyncingUntil: new Date(u.keepSyncingUntil).toISOString() } : {}), steps: rec.details.steps ?? [],
  };
}

export function cutoverStatusLine(address: string, c: Record<string, unknown>): string {
  const held = typeof c.heldMs === 'number' ? `, held ${secs(c.heldMs)} (${String(c.heldMessages)} message(s))` : '';
  const failed = c.failedStep ? `, failed at ${String(c.failedStep)}: ${String(c.error)}` : '';
  return `  ${address}: last ${String(c.kind)} ${String(c.at)}: ${String(c.status)}${held}${failed}${c.keepSyncingUntil ? `, keeps syncing until ${String(c.keepSyncingUntil)}` : ''}`;
}

/** Users of `migrate run`: cut-over users skipped unless --keep-syncing; call `after` once the pass is done. */
export async function deltaPassUsers(store: Store, users: MigrationUser[]): Promise<{ run: MigrationUser[]; skipped: string[]; after: () => Promise<void> }> {
  const plan = await deltaPassPlan(store, users);
  return { run: plan.run, skipped: plan.skipped, after: () => restoreCutoverState(store, plan.keepSyncing) };
}

/** serve's scheduler of migration.waves; undefined when no wave has a time. */
export function startWaveScheduler(ctx: Context, store: Store): WaveScheduler | undefined {
  const m = ctx.config.migration;
  if (!m?.waves?.some((w) => w.at !== undefined)) return undefined;
  const sched = new WaveScheduler({
    store, waves: m.waves, log: ctx.log,
    resolveUsers: (w) => waveUsers(w, store, m.users),
    preDelta: async (addresses) => {
      const users = await knownUsers(ctx, store);
      const byAddress = new Map(users.map((u) => [u.address, u]));
      const plan = await deltaPassUsers(store, addresses.map((a) => byAddress.get(a) ?? { address: a }));
      const { engine } = cutoverDeps(ctx, store, users, 'serve');
      const reports = await migrateUsers(engine, plan.run, { concurrency: m.concurrency });
      await plan.after();
      return { ok: reports.filter((r) => r.ok).length, failed: reports.filter((r) => !r.ok).length };
    },
    cutover: async (addresses, wave) => {
      const users = await knownUsers(ctx, store);
      const { deps, concurrency } = cutoverDeps(ctx, store, users, 'serve');
      const results = await cutoverUsers(deps, addresses, { concurrency, wave });
      await syncContacts(ctx, store, results.filter((r) => r.status === 'done').length);
      return results;
    },
  });
  sched.start();
  return sched;
}
