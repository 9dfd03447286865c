import type { Command } from 'commander';
import { printConfig, configReference } from '../../config/index.js';
import { createContext, type GlobalOptions } from '../context.js';
import { printJson, printText } from '../output.js';

export function registerConfig(program: Command): void {
  const cmd = program.command('config').description('inspect the configuration');
  cmd.command('print')
    .description('print the effective configuration (defaults applied, paths resolved, secrets redacted)')
    .option('--json', 'print one JSON document')
    .action((opts: { json?: boolean }) => {
      const { config } = createContext(program.opts<GlobalOptions>(), { quiet: true });
      if (opts.json) printJson(config);
      else printText(printConfig(config));
    });
  cmd.command('reference')
    .description('print the configuration reference (every key, type and default) as Markdown')
    .action(() => printText(configReference()));
}
