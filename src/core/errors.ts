/**
 * The one error class of mailbridge. Identity is `code` (SCREAMING_SNAKE with a
 * subsystem prefix), never the message text or ad-hoc properties. Each subsystem
 * lists its codes in its own errors.ts; core holds the shared ones.
 */
export type RetryClass = 'transient' | 'permanent';

export interface MbErrorOptions {
  retry?: RetryClass;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class MbError extends Error {
  readonly code: string;
  readonly retry: RetryClass;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, opts: MbErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MbError';
    this.code = code;
    this.retry = opts.retry ?? 'permanent';
    this.details = opts.details ?? {};
  }

  static is(err: unknown, code?: string): err is MbError {
    return err instanceof MbError && (code === undefined || err.code === code);
  }
}

/** Exit codes of the command-line contract (DESIGN.md). */
export const ExitCode = {
  ok: 0,
  problemFound: 1,
  badUsage: 2,
  unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const CoreErrors = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  CONFIG_NOT_FOUND: 'CONFIG_NOT_FOUND',
  CONFIG_SECRET_UNREADABLE: 'CONFIG_SECRET_UNREADABLE',
  UNITS_INVALID: 'UNITS_INVALID',
} as const;

/** A short, peer-safe description of any thrown value (no stack). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
