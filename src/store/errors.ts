/**
 * Error codes of the store, and the one table that says which database failures
 * are worth retrying. Every failure that leaves this layer is an MbError with one
 * of these codes; the driver's own error is kept as `cause` (never shown to peers).
 */
import { MbError, describeError, type RetryClass } from '../core/index.js';

export const StoreErrors = {
  /** The database could not be opened or reached (bad path, refused connection, bad credentials). */
  STORE_OPEN_FAILED: 'STORE_OPEN_FAILED',
  /** A schema migration failed, or the schema is newer/older than this build can use. */
  STORE_MIGRATION_FAILED: 'STORE_MIGRATION_FAILED',
  /** A query failed after the store was open. */
  STORE_QUERY_FAILED: 'STORE_QUERY_FAILED',
} as const;
export type StoreErrorCode = (typeof StoreErrors)[keyof typeof StoreErrors];

/** What we can read off a driver error (better-sqlite3's SqliteError, pg's DatabaseError, a Node socket error). */
interface DriverErrorShape {
  code: string;
  message: string;
}

interface RetryRule {
  /** Matches the driver's error code (SQLite result code, SQLSTATE, errno name). */
  code?: RegExp;
  /** Matches the message, for driver errors that carry no code (pg's pool and socket teardown). */
  message?: RegExp;
  retry: RetryClass;
  why: string;
}

/**
 * Retry classification, first match wins; anything unmatched is permanent (a
 * constraint violation or a syntax error does not get better by trying again).
 * SQLSTATE classes from the PostgreSQL manual, appendix A.
 */
export const RETRY_RULES: readonly RetryRule[] = [
  { code: /^SQLITE_(BUSY|LOCKED)/, retry: 'transient', why: 'another connection held the lock past busy_timeout' },
  { code: /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNABORTED)$/, retry: 'transient', why: 'network' },
  { code: /^08/, retry: 'transient', why: 'SQLSTATE class 08: connection exception' },
  { code: /^(57P01|57P02|57P03)$/, retry: 'transient', why: 'server shutting down or starting up' },
  { code: /^53/, retry: 'transient', why: 'SQLSTATE class 53: insufficient resources (too many connections, disk full)' },
  { code: /^(40001|40P01)$/, retry: 'transient', why: 'serialization failure or deadlock: the transaction may be retried' },
  { code: /^55P03$/, retry: 'transient', why: 'lock not available' },
  {
    message: /connection terminated|timeout exceeded when trying to connect|connection error|server closed the connection/i,
    retry: 'transient',
    why: 'pg lost or could not get a connection',
  },
];

function shapeOf(err: unknown): DriverErrorShape {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : '', message: err.message };
  }
  return { code: '', message: String(err) };
}

export function classifyDbError(err: unknown): { retry: RetryClass; dbCode: string } {
  const shape = shapeOf(err);
  for (const rule of RETRY_RULES) {
    if (rule.code && shape.code && rule.code.test(shape.code)) return { retry: rule.retry, dbCode: shape.code };
    if (rule.message && rule.message.test(shape.message)) return { retry: rule.retry, dbCode: shape.code };
  }
  return { retry: 'permanent', dbCode: shape.code };
}

/** Removes every occurrence of the given secrets (a connection password) from a text. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

export interface WrapContext {
  dialect: 'sqlite' | 'postgres';
  /** Passwords that must not appear in the message (see redactUrl). */
  secrets?: readonly string[];
  details?: Record<string, unknown>;
}

/**
 * Turns a driver failure into an MbError of the given code. An MbError passes
 * through unchanged, so wrapping twice is harmless.
 */
export function wrapDbError(err: unknown, code: StoreErrorCode, what: string, ctx: WrapContext): MbError {
  if (err instanceof MbError) return err;
  const { retry, dbCode } = classifyDbError(err);
  const message = scrubSecrets(`${what}: ${describeError(err)}`, ctx.secrets ?? []);
  return new MbError(code, message, {
    retry,
    cause: err,
    details: { dialect: ctx.dialect, ...(dbCode ? { dbCode } : {}), ...ctx.details },
  });
}
