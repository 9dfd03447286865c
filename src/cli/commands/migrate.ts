/**
 * `mailbridge migrate plan | run | verify | status`: the migration engine's
 * commands (issue 3). Users come from --users FILE, else migration.users, else
 * --user ADDRESS alone (admin login), else the unified directory's people whose
 * home system is migration.from. Output: text, or one JSON document on
 * stdout with --json. `run` reports progress on stderr: a status line on a TTY,
 * JSON lines otherwise (and always with --json), so stdout keeps its one
 * document. Exit codes: 0 all users fine, 1 a user failed or differs, 3 a system
 * could not be reached, 2 bad usage. A user whose lease another node holds is
 * skipped by `run` ("busy", status "busy" in JSON): not a failure (exit 0 when
 * nothing else failed); the next run takes it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ExitCode } from '../../core/index.js';
import type { Config } from '../../config/index.js';
import {
  MigrationState, TtyProgress, directoryUsers, migrateUsers, parseUsersCsv, planUser, verifyUser, type ProgressStream,
  type EngineDeps, type MigrationUser, type ProgressEvent, type UserPassReport,
} from '../../migration/index.js';
import type { Store } from '../../store/index.js';
import { createContext, openStoreFor, type Context, type GlobalOptions } from '../context.js';
import { CommandExit, printJson, printText } from '../output.js';
import { cutoverStatus, cutoverStatusLine, deltaPassUsers, registerCutover } from './cutover.js';

interface UserOpts { users?: string; user?: string; json?: boolean }

function migrationOf(config: Config): NonNullable<Config['migration']> {
  const m = config.migration;
  if (!m) throw new CommandExit(ExitCode.badUsage, `${config.file}: migration: the section is missing (from, to, users)`);
  for (const key of ['from', 'to'] as const) {
    if (!config.systems[m[key]]?.imap) {
      throw new CommandExit(ExitCode.badUsage, `${config.file}: migration.${key}: system ${JSON.stringify(m[key])} has no imap endpoint`);
    }
  }
  return m;
}

export async function loadUsers(config: Config, opts: UserOpts, store?: Pick<Store, 'users'>): Promise<MigrationUser[]> {
  const file = opts.users ? resolve(opts.users) : config.migration?.users;
  let users: MigrationUser[] = [];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CommandExit(ExitCode.badUsage, `${file}: cannot read the users file (${(err as Error).message})`);
    }
    users = parseUsersCsv(text, file);
  } else if (!opts.user && store && config.migration) {
    users = await directoryUsers(store.users, config.migration.from);
  }
  if (opts.user) {
    const want = opts.user.toLowerCase();
    users = users.filter((u) => u.address === want);
    if (users.length === 0) users = [{ address: want }];
  }
  if (users.length === 0) {
    throw new CommandExit(ExitCode.badUsage, `no users: give --users FILE, --user ADDRESS or migration.users, or run directory sync (no one in the directory has home system ${JSON.stringify(config.migration?.from ?? '')})`);
  }
  return users;
}

function depsFor(ctx: Context, db: EngineDeps['db'], onProgress?: EngineDeps['onProgress']): EngineDeps {
  const m = migrationOf(ctx.config);
  // Tuning knob for tests and benchmarks, not a configuration key: messages per FETCH/APPEND batch.
  const batch = Number.parseInt(process.env.MAILBRIDGE_MIGRATION_BATCH ?? '', 10);
  return { migration: m, source: ctx.config.systems[m.from]!, target: ctx.config.systems[m.to]!, db, log: ctx.log, metrics: ctx.metrics,
    ...(onProgress ? { onProgress } : {}), ...(batch > 0 ? { batchMessages: batch } : {}) };
}

function exitFor(results: { ok: boolean; busy?: unknown; error?: { unreachable: boolean } }[]): number {
  const counted = results.filter((r) => r.busy === undefined);
  if (counted.some((r) => r.error?.unreachable)) return ExitCode.unreachable;
  return counted.every((r) => r.ok) ? ExitCode.ok : ExitCode.problemFound;
}

/** A user's outcome in `migrate run`: busy (another node holds its lease: skipped, not failed), ok, or failed. */
export type RunStatus = 'ok' | 'failed' | 'busy';

export function runStatus(r: Pick<UserPassReport, 'ok' | 'busy'>): RunStatus {
  return r.busy ? 'busy' : r.ok ? 'ok' : 'failed';
}

/** The report as `migrate run --json` prints it: with its status; a busy user carries `busy`, not an error. */
export function runJson(r: UserPassReport): UserPassReport & { status: RunStatus } {
  if (!r.busy) return { status: runStatus(r), ...r };
  const { error: _busyError, ...rest } = r;
  return { status: 'busy', ...rest };
}

/** "busy (held by NODE until TIME), skipped" */
export function busyText(busy: NonNullable<UserPassReport['busy']>): string {
  return `busy (held by ${busy.owner}${busy.expires ? ` until ${busy.expires}` : ''}), skipped`;
}

const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;

/**
 * Progress on stderr: redrawn bars per user and in total on a TTY (progress.ts),
 * JSON lines for machines (not a TTY, or --json).
 */
export function progressReporter(json: boolean, out: ProgressStream = process.stderr, userCount?: number): { onProgress: (e: ProgressEvent) => void; finish: () => void } {
  if (out.isTTY === true && !json) {
    const tty = new TtyProgress(out, Date.now, userCount !== undefined ? { userCount } : {});
    return { onProgress: (e) => tty.update(e), finish: () => tty.finish() };
  }
  return {
    onProgress: (e) => {
      const { report: _r, ...rest } = e as ProgressEvent & { report?: unknown };
      const end = e.type === 'user-end'
        ? { status: runStatus(e.report), totals: e.report.totals, ...(e.report.busy ? { busy: e.report.busy } : { error: e.report.error }) }
        : {};
      out.write(`${JSON.stringify({ ...rest, ...end, at: new Date().toISOString() })}\n`);
    },
    finish: () => undefined,
  };
}

/** migrate status as aligned columns; the error column is last and not padded. */
export function statusTable(rows: string[][]): string {
  const all = [['USER', 'STATE', 'PASSES', 'LAST PASS', 'SEEN', 'APPENDED', 'REFUSED', 'ERROR'], ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export function runText(reports: UserPassReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    if (r.busy) {
      lines.push(`busy   ${r.address}: ${busyText(r.busy)}`);
      continue;
    }
    const t = r.totals;
    lines.push(`${r.ok ? 'ok    ' : 'FAILED'} ${r.address}${r.dryRun ? ' (dry run: would copy)' : ''}: ${t.seen} to copy, ${t.appended} appended (${mb(t.appendedBytes)}), `
      + `${t.matched} found on the target, ${t.flagsUpdated} flag updates, ${t.deletedOnTarget} deleted on target, ${t.skippedDeleted} \\Deleted skipped`);
    for (const m of r.merges) lines.push(`       merged into ${m.target}: ${m.sources.join(', ')}`);
    for (const c of r.collisions) lines.push(`       collision on ${c.target}: ${c.sources.join(', ')} (kept apart)`);
    for (const x of r.refusals) lines.push(`       refused ${x.folder} uid ${x.uid} (${x.size} bytes): ${x.reason}`);
    if (r.error) lines.push(`       error ${r.error.code}: ${r.error.message}`);
  }
  return lines.join('\n');
}

/** Config, store and the users to work on, for plan, run and verify; the store is closed afterwards. */
async function withUsers(program: Command, opts: UserOpts, body: (ctx: Context, store: Store, list: MigrationUser[]) => Promise<void>): Promise<void> {
  const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
  migrationOf(ctx.config);
  const store = await openStoreFor(ctx);
  try {
    await body(ctx, store, await loadUsers(ctx.config, opts, store));
  } finally {
    await store.close();
  }
}

export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('plan, copy, re-sync and verify mailboxes IMAP to IMAP; cut users over and back');
  const users = (c: Command): Command => c.option('--users <file>', 'users CSV (default: migration.users)').option('--user <address>', 'only this user').option('--json', 'print one JSON document');

  users(migrate.command('plan')).description('inventory per user: folders, messages, bytes, target names, known refusals, estimated duration')
    .action((opts: UserOpts) => withUsers(program, opts, async (ctx, store, list) => {
        const deps = depsFor(ctx, store.db);
        const plans = [];
        for (const u of list) plans.push(await planUser(deps, u));
        if (opts.json) printJson({ ok: plans.every((p) => p.ok), users: plans });
        else {
          for (const p of plans) {
            printText(`${p.address}: ${p.totals.messages} messages, ${mb(p.totals.bytes)}, estimated ${p.estimate.seconds ?? '?'} s`
              + `${p.error ? ` ERROR ${p.error.message}` : ''}`);
            for (const f of p.folders) printText(`  ${f.source} -> ${f.target}${f.merged ? ' (merged)' : ''}: ${f.messages} msgs, ${mb(f.bytes)}${f.tooLarge ? `, ${f.tooLarge} over the size limit` : ''}`);
            for (const c of p.collisions) printText(`  collision on ${c.target}: ${c.sources.join(', ')} (kept apart, suffixed)`);
            for (const s of p.skipped) printText(`  skipped ${s.source}: ${s.reason}`);
          }
          printText(`estimate: ${plans[0]?.estimate.method ?? ''}; NUL bytes and long lines are checked in the sample only`);
        }
        process.exitCode = exitFor(plans);
    }));

  users(migrate.command('run')).description('copy (first pass or delta), resumable, never duplicates')
    .option('--concurrency <n>', 'users in parallel (default: migration.concurrency)', (v) => Number.parseInt(v, 10))
    .option('--dry-run', 'show what would be copied; write nothing')
    .action(async (opts: UserOpts & { concurrency?: number; dryRun?: boolean }) => {
      if (opts.concurrency !== undefined && (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)) {
        throw new CommandExit(ExitCode.badUsage, '--concurrency: expected a whole number of at least 1');
      }
      await withUsers(program, opts, async (ctx, store, list) => {
        const progress = progressReporter(opts.json === true, process.stderr, list.length);
        const deps = depsFor(ctx, store.db, progress.onProgress);
        // Cut-over users are left alone unless their --keep-syncing grace runs (issue 8).
        const plan = await deltaPassUsers(store, list);
        const reports = await migrateUsers(deps, plan.run, { concurrency: opts.concurrency ?? deps.migration.concurrency, dryRun: opts.dryRun === true });
        await plan.after();
        progress.finish();
        if (opts.json) {
          printJson({ ok: reports.every((r) => r.ok), users: reports.map(runJson), skippedCutOver: plan.skipped, skippedBusy: reports.filter((r) => r.busy).map((r) => r.address) });
        }
        else printText(runText(reports) + (plan.skipped.length ? `\nskipped (cut over): ${plan.skipped.join(', ')}` : ''));
        process.exitCode = exitFor(reports);
      });
    });

  users(migrate.command('verify')).description('compare source and target message by message; exit 1 on any difference')
    .action((opts: UserOpts) => withUsers(program, opts, async (ctx, store, list) => {
        const deps = depsFor(ctx, store.db);
        const results = [];
        for (const u of list) {
          const r = await verifyUser(deps, u);
          results.push(r);
          // Kept for the console's migration detail, passing or not (a differing verify changes no state).
          await store.audit.record({
            actor: 'cli', action: 'migration.verify', target: r.address,
            details: { ok: r.ok, equal: r.folders.reduce((n, f) => n + f.equal, 0), normalized: r.normalized.length, differences: r.differences.length, first: r.differences.slice(0, 20), ...(r.error ? { error: r.error } : {}) },
          });
        }
        if (opts.json) printJson({ ok: results.every((r) => r.ok), users: results });
        else {
          for (const r of results) {
            printText(`${r.ok ? 'ok    ' : 'DIFFER'} ${r.address}: ${r.folders.reduce((n, f) => n + f.equal, 0)} equal, ${r.normalized.length} normalized by the target, ${r.differences.length} differences`);
            for (const d of r.differences) printText(`  ${d.kind} ${d.folder}${d.sourceUid ? ` source uid ${d.sourceUid}` : ''}${d.targetUid ? ` target uid ${d.targetUid}` : ''}: ${d.detail}`);
            if (r.error) printText(`  error ${r.error.code}: ${r.error.message}`);
          }
        }
        process.exitCode = exitFor(results);
    }));

  migrate.command('status').description('per user: state, passes, last pass, counts, errors').option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const store = await openStoreFor(ctx);
      try {
        const state = new MigrationState(store.db);
        const rows = await state.users();
        const users = await Promise.all(rows.map(async (r) => ({
          address: r.address, state: r.state, passes: r.passes,
          lastPass: r.finished_at ? new Date(r.finished_at).toISOString() : null,
          counts: JSON.parse(r.counts) as Record<string, number>, error: r.error,
          refused: (await state.refusals(r.address)).map((x) => ({ folder: x.source_folder, uid: x.source_uid, size: x.size, reason: x.detail })),
          cutover: await cutoverStatus(store, r.address),
        })));
        if (opts.json) printJson({ users });
        else if (users.length === 0) printText('no migration has run yet');
        else {
          printText(statusTable(users.map((u) => [u.address, u.state === 'cutover' ? 'cut over' : u.state, String(u.passes), u.lastPass ?? '-', String(u.counts.seen ?? 0),
            String(u.counts.appended ?? 0), String(u.refused.length), u.error ?? ''])));
          for (const u of users) if (u.cutover) printText(cutoverStatusLine(u.address, u.cutover));
        }
      } finally {
        await store.close();
      }
    });

  registerCutover(migrate, program);
}
