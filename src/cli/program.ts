/**
 * mailbridge command line: the composition root. Parses argv, loads the config
 * named by --config / $MAILBRIDGE_CONFIG / ./mailbridge.yaml, wires adapters and
 * maps every outcome to the exit codes of the contract (DESIGN.md).
 */
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../core/index.js';
import { exitCodeFor } from './output.js';
import { registerCheck } from './commands/check.js';
import { registerConfig } from './commands/config.js';
import { registerDirectory } from './commands/directory.js';
import { registerPasswd } from './commands/passwd.js';
import { registerServe } from './commands/serve.js';
import { registerFreeBusy } from './commands/freebusy.js';
import { registerMigrate } from './commands/migrate.js';
import { registerGateway } from './commands/gateway.js';

export function buildProgram(): Command {
  const program = new Command('mailbridge')
    .description('Coexistence and migration for mail systems that share one address space')
    .version('0.1.0')
    .option('-c, --config <file>', 'configuration file (default: $MAILBRIDGE_CONFIG or ./mailbridge.yaml)')
    .option('--log-level <level>', 'log level: debug, info, warn, error', undefined)
    .showHelpAfterError()
    .exitOverride();
  registerCheck(program);
  registerConfig(program);
  registerDirectory(program);
  registerServe(program);
  registerFreeBusy(program);
  registerMigrate(program);
  registerGateway(program);
  registerPasswd(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every usage error is exit 2 (contract).
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.ok : ExitCode.badUsage;
    }
    return exitCodeFor(err, json);
  }
}
