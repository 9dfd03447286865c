/**
 * Logger factory. JSON lines (pino) by default; human-readable when writing to a
 * TTY. Nothing here is a singleton: the composition root (cli) makes one logger
 * and hands children to each unit of work (sid, job, reqId).
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import { EVENTS, type EventName } from './events.js';
import { REDACT_PATHS } from './redact.js';
import type { Metrics } from './metrics.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Pretty output; default: when the destination is a TTY. */
  pretty?: boolean;
  /** Where lines go; default stderr (stdout belongs to command output and --json). */
  destination?: DestinationStream | NodeJS.WritableStream;
  name?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination ?? process.stderr;
  const isTty = (dest as { isTTY?: boolean }).isTTY === true;
  const options = {
    name: opts.name ?? 'mailbridge',
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
  };
  if (opts.pretty ?? isTty) {
    const stream = pretty({ colorize: isTty, destination: dest as NodeJS.WritableStream, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', sync: true });
    return pino(options, stream);
  }
  return pino(options, dest as DestinationStream);
}

/** A logger that writes nothing (tests, --json commands that must keep stdout clean). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Logs one catalogued event at its catalogued level and counts it. Callers log an
 * event once, where it is handled, and do not log-and-rethrow.
 */
export function logEvent(log: Logger, event: EventName, fields: Record<string, unknown> = {}, msg?: string, metrics?: Metrics): void {
  const spec = EVENTS[event];
  log[spec.level]({ event, ...fields }, msg ?? spec.description);
  metrics?.events.inc({ event, level: spec.level });
}
