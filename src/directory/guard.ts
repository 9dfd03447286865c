/**
 * The deletion guard (issue 5): a run that would delete more than
 * `directory.deleteThreshold` objects, or more than 10% of what a system holds,
 * stops before writing anything unless --allow-deletes. A source with zero
 * people never gets here: that is an error of its own (DIRECTORY_SOURCE_EMPTY).
 */
export interface GuardInput {
  threshold: number;
  /** Per system: our contacts there now, and how many the run deletes. */
  contacts: Record<string, { existing: number; deletes: number }>;
  /** Per (former) home system: people in the store now, and how many the run deletes. */
  people: Record<string, { existing: number; deletes: number }>;
}

export const GUARD_FRACTION = 0.1;

export function checkDeleteGuard(input: GuardInput): { ok: true } | { ok: false; reasons: string[] } {
  const reasons: string[] = [];
  const check = (what: string, system: string, { existing, deletes }: { existing: number; deletes: number }) => {
    if (deletes === 0) return;
    if (deletes > input.threshold) {
      reasons.push(`${system}: would delete ${deletes} ${what}, more than directory.deleteThreshold (${input.threshold})`);
    } else if (deletes > existing * GUARD_FRACTION) {
      reasons.push(`${system}: would delete ${deletes} of ${existing} ${what}, more than ${GUARD_FRACTION * 100}%`);
    }
  };
  for (const [s, c] of Object.entries(input.contacts).sort()) check('contacts', s, c);
  for (const [s, c] of Object.entries(input.people).sort()) check('people', s, c);
  const total = Object.values(input.people).reduce((n, c) => n + c.deletes, 0);
  if (total > input.threshold && !reasons.some((r) => r.includes('people, more than directory'))) {
    reasons.push(`would delete ${total} people in all, more than directory.deleteThreshold (${input.threshold})`);
  }
  return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
}
