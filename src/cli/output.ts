/**
 * How commands speak: human text on stdout, or exactly one JSON document on
 * stdout with --json; diagnostics and logs on stderr. Exit codes follow the
 * contract (core ExitCode).
 */
import { MbError, ExitCode, describeError } from '../core/index.js';
import { formatConfigError } from '../config/index.js';

export class CommandExit extends Error {
  constructor(readonly exitCode: number, message = '') {
    super(message);
  }
}

export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Maps any error escaping a command to a message on stderr and an exit code. */
export function exitCodeFor(err: unknown, json: boolean): number {
  if (err instanceof CommandExit) {
    if (err.message) process.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  if (MbError.is(err) && err.code.startsWith('CONFIG_')) {
    const text = err.code === 'CONFIG_INVALID' ? formatConfigError(err) : err.message;
    if (json) printJson({ ok: false, error: { code: err.code, message: text, details: err.details } });
    process.stderr.write(`mailbridge: configuration error\n${text}\n`);
    return ExitCode.badUsage;
  }
  if (MbError.is(err)) {
    if (json) printJson({ ok: false, error: { code: err.code, message: err.message } });
    process.stderr.write(`mailbridge: ${err.message} [${err.code}]\n`);
    return err.retry === 'transient' ? ExitCode.unreachable : ExitCode.problemFound;
  }
  process.stderr.write(`mailbridge: unexpected error: ${describeError(err)}\n`);
  if (process.env.MAILBRIDGE_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return ExitCode.problemFound;
}
