import type { Command } from 'commander';
import { ExitCode } from '../../core/index.js';
import { exportPostfix, formatShow, formatSyncResult, runDirectorySync, showRecord } from '../../directory/index.js';
import { logEvent } from '../../observe/index.js';
import { createContext, openStoreFor, type GlobalOptions } from '../context.js';
import { printJson, printText } from '../output.js';

export function registerDirectory(program: Command): void {
  const dir = program.command('directory').description('directory synchronization: sync, show, export');

  dir.command('sync')
    .description('one sync run; prints what it added, changed, deleted and the conflicts (exit 1 when stopped or a write failed)')
    .option('--dry-run', 'compute and print the diff, write nothing')
    .option('--allow-deletes', 'let deletions beyond the guard (directory.deleteThreshold or 10%) through, once')
    .option('--full', 'read every source and contacts container whole instead of only what changed since the last run')
    .option('--json', 'print one JSON document')
    .action(async (opts: { dryRun?: boolean; allowDeletes?: boolean; full?: boolean; json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: opts.json === true });
      const store = await openStoreFor(ctx);
      try {
        const result = await runDirectorySync(
          { store, log: ctx.log, metrics: ctx.metrics, settings: ctx.config, ldap: { timeoutMs: ctx.config.check.timeout } },
          { dryRun: opts.dryRun === true, allowDeletes: opts.allowDeletes === true, full: opts.full === true },
        );
        if (opts.json) printJson({ ok: result.status === 'ok' || result.status === 'dry-run', ...result });
        else printText(formatSyncResult(result));
        process.exitCode = result.status === 'ok' || result.status === 'dry-run' ? ExitCode.ok : ExitCode.problemFound;
      } finally {
        await store.close();
      }
    });

  dir.command('show')
    .description('the unified record of one person: values and where each came from, contacts, conflicts, routing (exit 1 when unknown)')
    .argument('<address>', 'primary address or alias')
    .option('--json', 'print one JSON document')
    .action(async (address: string, opts: { json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const store = await openStoreFor(ctx);
      try {
        const shown = await showRecord(store, address, ctx.config);
        if (opts.json) printJson(shown);
        else printText(formatShow(shown));
        process.exitCode = shown.found ? ExitCode.ok : ExitCode.problemFound;
      } finally {
        await store.close();
      }
    });

  const exp = dir.command('export').description('export the directory for other software');
  exp.command('postfix')
    .description('write transport, relay_recipients and virtual maps into DIR (and run postmap on them when installed)')
    .argument('<dir>', 'output folder (created when missing)')
    .option('--json', 'print one JSON document')
    .action(async (out: string, opts: { json?: boolean }) => {
      const ctx = createContext(program.opts<GlobalOptions>(), { quiet: true });
      const store = await openStoreFor(ctx);
      try {
        const r = await exportPostfix(store, ctx.config.systems, out);
        logEvent(ctx.log, 'directory.export.written', { dir: r.dir, ...r.entries, postmap: r.postmap !== null }, undefined, ctx.metrics);
        if (opts.json) printJson({ ok: true, ...r });
        else {
          printText([
            `wrote ${r.files.join(', ')}`,
            `  transport ${r.entries.transport}, relay_recipients ${r.entries.relayRecipients}, virtual ${r.entries.virtual} entries`,
            r.postmap ? `  indexed with ${r.postmap} (hash:)` : '  postmap not found: maps written as text only',
            ...(r.noTransport.length ? [`  ${r.noTransport.length} address(es) left out of transport: their home system has no smtp endpoint`] : []),
          ].join('\n'));
        }
      } finally {
        await store.close();
      }
    });
}
