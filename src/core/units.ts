/**
 * Sizes ("25MB", "512KiB", "1000") and durations ("5d", "30s", "1h30m", "250ms")
 * as they are written in the configuration. Decimal units are powers of 1000,
 * binary (KiB, MiB, GiB) powers of 1024, as an administrator reading `df -H`
 * versus `df -h` would expect.
 */
const SIZE_UNITS: Record<string, number> = {
  b: 1, '': 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  k: 1e3, m: 1e6, g: 1e9,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

export type UnitResult = { ok: true; value: number } | { ok: false; reason: string };

export function parseSize(input: string | number): UnitResult {
  if (typeof input === 'number') {
    return Number.isInteger(input) && input >= 0 ? { ok: true, value: input } : { ok: false, reason: 'must be a whole number of bytes' };
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return { ok: false, reason: `"${input}" is not a size (examples: 25MB, 512KiB, 1000)` };
  return { ok: true, value: Math.round(Number(m[1]) * unit) };
}

export function parseDuration(input: string | number): UnitResult {
  if (typeof input === 'number') {
    return input >= 0 ? { ok: true, value: input * 1000 } : { ok: false, reason: 'must not be negative' };
  }
  const text = input.trim();
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) {
    return { ok: false, reason: `"${input}" is not a duration (examples: 30s, 5m, 1h30m, 5d)` };
  }
  return { ok: true, value: Math.round(total) };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, secs] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= secs) { parts.push(`${Math.floor(rest / secs)}${unit}`); rest %= secs; }
  }
  return parts.join('');
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}
