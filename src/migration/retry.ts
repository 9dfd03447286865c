/**
 * What to do when an IMAP session fails mid-pass: one table of rules (as
 * ZoneMTA classifies SMTP replies), first match wins. `retry` reconnects after a
 * backoff and runs the pass again, which resumes from the stored state (nothing
 * is copied twice); `fail` records the user as failed. A server's own hint
 * ("Suggested Backoff Time: N ms", Exchange Online / M365) is honoured.
 */
import { MbError } from '../core/index.js';

export interface RetryDecision {
  action: 'retry' | 'fail';
  /** Wait before the next attempt, when the rule or the server says so. */
  backoffMs?: number;
  rule: string;
}

interface Rule {
  name: string;
  test: (text: string, code: string) => boolean;
  action: 'retry' | 'fail';
  backoffMs?: (text: string) => number | undefined;
}

export const RETRY_RULES: readonly Rule[] = [
  { name: 'server-backoff-hint', test: (t) => /Suggested Backoff Time: *\d+ *ms/i.test(t), action: 'retry',
    backoffMs: (t) => Number(/Suggested Backoff Time: *(\d+) *ms/i.exec(t)?.[1]) },
  { name: 'throttled', test: (t) => /\[THROTTLED\]/i.test(t), action: 'retry', backoffMs: () => 5000 },
  { name: 'unavailable', test: (t) => /\[UNAVAILABLE\]/i.test(t), action: 'retry' },
  { name: 'login-refused', test: (_t, c) => c === 'MIGRATION_LOGIN_FAILED', action: 'fail' },
  { name: 'bye', test: (t) => /\bBYE\b/.test(t), action: 'retry' },
  { name: 'connection-lost', test: (t, c) => /^(NoConnection|ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|ESOCKET|CONNECT_TIMEOUT|MIGRATION_CONNECT_FAILED)$/.test(c)
      || /connection (closed|lost|not available)|socket (closed|hang up)|Unexpected close|timed? ?out/i.test(t), action: 'retry' },
  { name: 'transient-mberror', test: (_t, c) => c === 'TRANSIENT', action: 'retry' },
];

function describe(err: unknown): { text: string; code: string } {
  const parts: string[] = [];
  let code = '';
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const o = e as { message?: unknown; responseText?: unknown; code?: unknown; cause?: unknown };
    if (typeof o.message === 'string') parts.push(o.message);
    if (typeof o.responseText === 'string') parts.push(o.responseText);
    if (!code && typeof o.code === 'string' && !(MbError.is(e) && e.code === 'MIGRATION_IMAP_FAILED')) code = o.code;
    if (MbError.is(e) && e.retry === 'transient' && !code) code = 'TRANSIENT';
    e = o.cause;
  }
  return { text: parts.join(' | '), code };
}

export function classifyFailure(err: unknown): RetryDecision {
  const { text, code } = describe(err);
  for (const r of RETRY_RULES) {
    if (!r.test(text, code)) continue;
    const backoffMs = r.backoffMs?.(text);
    return { action: r.action, rule: r.name, ...(backoffMs !== undefined && Number.isFinite(backoffMs) ? { backoffMs } : {}) };
  }
  return { action: 'fail', rule: 'unclassified' };
}

/** Exponential backoff from base (1 s, 2 s, 4 s ...), capped, unless the server named its own. */
export function backoffFor(d: RetryDecision, attempt: number, baseMs: number): number {
  return d.backoffMs ?? Math.min(60_000, baseMs * 2 ** attempt);
}
