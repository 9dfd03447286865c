/**
 * `mailbridge freebusy ADDRESS [--start ISO] [--end ISO] [--ics|--json]`: the
 * free/busy of anyone, from whichever system holds the calendar (issue 6).
 * Also builds the broker for `serve` (buildFreeBusyBroker), since only cli/
 * reads the users CSV files.
 *
 * Exit codes: 0 answered; 1 unknown address, no calendar or an unusable
 * answer; 2 bad window or usage; 3 the source could not be reached in time.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ExitCode, MbError } from '../../core/index.js';
import { resolveRecipient } from '../../directory/index.js';
import type { Store } from '../../store/index.js';
import { attendeeJson, buildBroker, type DirectoryLookup, formatAnswerIcs, type AttendeeFreeBusy, type AttendeeStatus, type FreeBusyBroker } from '../../calendar/index.js';
import { createContext, openStoreFor, type Context, type GlobalOptions } from '../context.js';
import { CommandExit, printJson, printText } from '../output.js';

const EXIT_BY_STATUS: Readonly<Record<AttendeeStatus, number>> = {
  ok: ExitCode.ok,
  unknown: ExitCode.problemFound,
  'no-source': ExitCode.problemFound,
  'not-found': ExitCode.problemFound,
  denied: ExitCode.problemFound,
  error: ExitCode.problemFound,
  timeout: ExitCode.unreachable,
  unreachable: ExitCode.unreachable,
};

/** The users CSV texts of every system that has one. */
function readUsersCsv(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, s] of Object.entries(ctx.config.systems)) {
    if (!s.users) continue;
    try {
      out[name] = readFileSync(s.users, 'utf8');
    } catch (err) {
      throw new CommandExit(ExitCode.badUsage, `mailbridge: ${ctx.config.file}: systems.${name}.users: cannot read ${s.users}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The unified directory as the calendar's first answer for "where does this person live". */
export function directoryLookup(store: Store, domains: readonly string[]): DirectoryLookup {
  return async (address) => {
    const r = await resolveRecipient(store, address, { domains });
    return r.kind === 'system' ? { system: r.name, primary: r.record.address } : null;
  };
}

export function buildFreeBusyBroker(ctx: Context, store?: Store): FreeBusyBroker {
  return buildBroker(ctx.config, {
    usersCsv: readUsersCsv(ctx), log: ctx.log, metrics: ctx.metrics,
    ...(store ? { directory: directoryLookup(store, ctx.config.domains) } : {}),
  });
}

function formatText(a: AttendeeFreeBusy, start: Date, end: Date): string {
  const head = `${a.address}${a.system ? ` (system ${a.system}${a.method ? `, ${a.method}` : ''})` : ''}: ${a.status}`;
  const lines = [head, `window ${start.toISOString()} .. ${end.toISOString()}`];
  if (a.error) lines.push(`  ${a.error.message}`);
  if (a.status === 'ok' && a.periods.length === 0) lines.push('  free for the whole window');
  for (const p of a.periods) lines.push(`  ${p.start.toISOString()} .. ${p.end.toISOString()}  ${p.type}`);
  if (a.skipped) lines.push(`  ${a.skipped} unreadable event(s) skipped (see the log)`);
  if (a.truncated) lines.push(`  ${a.truncated} recurrence expansion(s) cut short`);
  return lines.join('\n');
}

export function registerFreeBusy(program: Command): void {
  program.command('freebusy')
    .description('free/busy of any user, from whichever system holds the calendar')
    .argument('<address>', 'the person (primary address or alias)')
    .option('--start <iso>', 'window start (ISO 8601; default: calendar.windowBack before now)')
    .option('--end <iso>', 'window end (ISO 8601; default: calendar.windowForward after now)')
    .option('--ics', 'print the VFREEBUSY (text/calendar)')
    .option('--json', 'print one JSON document')
    .action(async (address: string, opts: { start?: string; end?: string; ics?: boolean; json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const store = await openStoreFor(ctx);
      const broker = buildFreeBusyBroker(ctx, store);
      try {
        let window;
        try {
          window = broker.window({ start: opts.start, end: opts.end });
        } catch (err) {
          if (!MbError.is(err)) throw err;
          if (opts.json) printJson({ ok: false, error: { code: err.code, message: err.message } });
          throw new CommandExit(ExitCode.badUsage, `mailbridge: ${err.message}`);
        }
        const ans = await broker.lookup([address], window);
        const a = ans.attendees[0]!;
        if (opts.json) printJson({ start: ans.start.toISOString(), end: ans.end.toISOString(), ...attendeeJson(a) });
        else if (opts.ics) printText(formatAnswerIcs(ans, new Date()));
        else printText(formatText(a, ans.start, ans.end));
        process.exitCode = EXIT_BY_STATUS[a.status];
      } finally {
        broker.close();
        await store.close();
      }
    });
}
