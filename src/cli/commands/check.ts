import type { Command } from 'commander';
import { ExitCode } from '../../core/index.js';
import { runChecks, formatCheckReport } from '../../check/index.js';
import { logEvent } from '../../observe/index.js';
import { createContext, probeUsers, type GlobalOptions } from '../context.js';
import { printJson, printText } from '../output.js';

export function registerCheck(program: Command): void {
  program.command('check')
    .description('validate the config and reach every configured endpoint; one line per endpoint (exit 3 if any fails)')
    .option('--json', 'print one JSON document')
    .option('--system <name...>', 'check only these systems')
    .action(async (opts: { json?: boolean; system?: string[] }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const report = await runChecks({ systems: ctx.config.systems, timeoutMs: ctx.config.check.timeout }, { only: opts.system, probeUsers: probeUsers(ctx.config) });
      for (const r of report.results) {
        logEvent(ctx.log, r.ok ? 'check.endpoint.ok' : 'check.endpoint.failed', { system: r.system, endpoint: r.endpoint, latencyMs: r.latencyMs, code: r.error?.code });
      }
      if (opts.json) printJson(report);
      else printText(formatCheckReport(report, { color: process.stdout.isTTY === true }));
      process.exitCode = report.ok ? ExitCode.ok : ExitCode.unreachable;
    });
}
