/**
 * Admin-friendly wording for configuration problems. Zod's own messages
 * ("Invalid input: expected number, received string") talk about the
 * validator; ours talk about the YAML the administrator wrote.
 */
import type { z } from 'zod';

export const REQUIRED = 'required, but missing';

/** What a YAML value is, for "got ..." (strings quoted, long ones shortened). */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    const text = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `string ${JSON.stringify(text)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** The kind of a YAML value without its content (for secrets, which we never echo). */
export function kindOf(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
};

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

function bound(iss: RawIssue & { minimum?: unknown; maximum?: unknown; origin?: unknown }, small: boolean): string {
  const limit = Number(small ? iss.minimum : iss.maximum);
  if (iss.origin === 'array') {
    return small ? `must list at least ${limit} ${limit === 1 ? 'entry' : 'entries'}` : `must list at most ${limit} entries`;
  }
  if (iss.origin === 'string') {
    return small ? (limit === 1 ? 'must not be empty' : `must be at least ${limit} characters`) : `must be at most ${limit} characters`;
  }
  return `must be ${small ? 'at least' : 'at most'} ${limit}, got ${show(iss.input)}`;
}

/** The per-parse error map: every zod-generated issue gets our wording. */
export function friendlyMessage(iss: RawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return REQUIRED;
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${show(iss.input)}`;
    case 'too_small':
      return bound(iss, true);
    case 'too_big':
      return bound(iss, false);
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(iss.input)}`;
    case 'invalid_format':
      return `${show(iss.input)} has the wrong format`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    case 'unrecognized_keys':
      return iss.keys.map((k) => `unknown key ${JSON.stringify(k)}`).join('; ');
    case 'invalid_key':
      return `invalid key ${show(iss.input)}`;
    case 'invalid_union':
      return `${show(iss.input)} is not any of the accepted forms`;
    default:
      return undefined;
  }
}

/** Edit distance counting a swap of two neighbours as one edit ("tsl" -> "tls"). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key closest to a mistyped one, if it is close enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

export function unknownKeyReason(key: string, known: readonly string[]): string {
  const hint = closestKey(key, known);
  const reason = `unknown key ${JSON.stringify(key)}`;
  if (hint !== undefined) return `${reason} (did you mean ${JSON.stringify(hint)}?)`;
  return known.length > 0 ? `${reason} (known keys: ${known.join(', ')})` : reason;
}
