/**
 * When to try a deferred recipient again: gateway.retry.schedule gives the
 * delays between attempts, and its last delay repeats (as Postfix's backoff
 * stops growing at maximal_backoff_time).
 */
export function nextAttemptAt(schedule: readonly number[], attempts: number, now: number): number {
  if (schedule.length === 0) return now;
  const i = Math.min(Math.max(attempts - 1, 0), schedule.length - 1);
  return now + (schedule[i] ?? 0);
}
