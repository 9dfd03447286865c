/**
 * The effective configuration as YAML: every default filled in, paths
 * absolute, durations and sizes written back exactly in units, secrets as
 * "[redacted] (origin)". Read back, it means the same (except the secrets).
 */
import { stringify } from 'yaml';
import { REDACTED_TEXT, Secret } from '../core/index.js';
import type { Config } from './types.js';
import { schemaTree, type SchemaNode } from './walk.js';

const DURATION_UNITS: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
const SIZE_UNITS: [string, number][] = [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024], ['TB', 1e12], ['GB', 1e9], ['MB', 1e6], ['KB', 1e3]];

/** "1h30m", "250ms": exact, never rounded (compound units only when they add up exactly). */
export function durationText(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 1000 !== 0) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of DURATION_UNITS) {
    if (rest >= size) { out += `${Math.floor(rest / size)}${unit}`; rest %= size; }
  }
  return out;
}

/** "25MB", "512KiB", or plain bytes when no unit divides exactly. */
export function sizeText(bytes: number): string {
  for (const [unit, size] of SIZE_UNITS) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

function redactUrlPassword(text: string): string {
  try {
    const u = new URL(text);
    if (u.password === '') return text;
    u.password = 'redacted';
    return u.toString().replace(':redacted@', `:${REDACTED_TEXT}@`);
  } catch {
    return text;
  }
}

function leafValue(node: Extract<SchemaNode, { kind: 'leaf' }>, value: unknown): unknown {
  if (value instanceof Secret) return `${REDACTED_TEXT} (${value.origin})`;
  if (typeof value === 'number' && node.fieldType === 'duration') return durationText(value);
  if (typeof value === 'number' && node.fieldType === 'size') return sizeText(value);
  if (typeof value === 'string' && node.fieldType === 'postgres') return redactUrlPassword(value);
  return value;
}

function plain(node: SchemaNode, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  switch (node.kind) {
    case 'leaf':
      return leafValue(node, value);
    case 'array':
      return Array.isArray(value) ? value.map((v) => plain(node.item, v)) : value;
    case 'record':
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, plain(node.value, v)]));
    case 'object': {
      const out: Record<string, unknown> = {};
      // Only schema keys: the derived ones (file, dir, systems.*.name) are not settings.
      for (const [k, f] of Object.entries(node.fields)) {
        const v = (value as Record<string, unknown>)[k];
        if (v !== undefined) out[k] = plain(f.node, v);
      }
      return out;
    }
  }
}

export function printConfig(cfg: Config): string {
  const header = `# effective configuration of ${cfg.file}\n# relative paths resolved against ${cfg.dir}\n`;
  return header + stringify(plain(schemaTree().node, cfg), { lineWidth: 0 });
}
