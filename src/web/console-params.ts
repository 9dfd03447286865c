/**
 * Query-string checking for the console's API: each parameter declared once as
 * data (kind and bounds), checked in one place, so a bad value gets a 400 that
 * names the parameter and says what is allowed, never a silently ignored filter.
 */
import { parseDuration } from '../core/index.js';

export type ParamSpec =
  | { kind: 'text'; max: number }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  /** "30s", "5m", "1h30m", "2d" -> ms */
  | { kind: 'duration' }
  /** an ISO 8601 time ("2026-11-22T15:00:00Z") or epoch ms -> epoch ms */
  | { kind: 'time' };

export type ParamValue<S extends ParamSpec> = S extends { kind: 'text' | 'enum' } ? string : number;

export type Parsed<T extends Record<string, ParamSpec>> = { [K in keyof T]?: ParamValue<T[K]> };

export type ParseResult<T extends Record<string, ParamSpec>> = { ok: true; value: Parsed<T> } | { ok: false; error: string };

function one(name: string, spec: ParamSpec, raw: string): { ok: true; value: string | number } | { ok: false; error: string } {
  switch (spec.kind) {
    case 'text':
      if (raw.length > spec.max) return { ok: false, error: `${name}: at most ${spec.max} characters` };
      if (/[\u0000-\u001f\u007f]/.test(raw)) return { ok: false, error: `${name}: control characters are not allowed` };
      return { ok: true, value: raw.trim() };
    case 'int': {
      if (!/^\d{1,9}$/.test(raw)) return { ok: false, error: `${name}: "${raw.slice(0, 40)}" is not a whole number (${spec.min} to ${spec.max})` };
      const n = Number(raw);
      if (n < spec.min || n > spec.max) return { ok: false, error: `${name}: ${n} is out of range (${spec.min} to ${spec.max})` };
      return { ok: true, value: n };
    }
    case 'enum':
      if (!spec.values.includes(raw)) return { ok: false, error: `${name}: "${raw.slice(0, 40)}" is not one of ${spec.values.join(', ')}` };
      return { ok: true, value: raw };
    case 'duration': {
      const d = parseDuration(raw.slice(0, 40));
      if (!d.ok) return { ok: false, error: `${name}: ${d.reason}` };
      return { ok: true, value: d.value };
    }
    case 'time': {
      const t = /^\d{1,15}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
      if (Number.isNaN(t)) return { ok: false, error: `${name}: "${raw.slice(0, 40)}" is not a time (ISO 8601 such as 2026-11-22T15:00:00Z, or epoch ms)` };
      return { ok: true, value: t };
    }
  }
}

/**
 * Checks a fastify query object against the specs: unknown names, repeated
 * names and bad values are errors; empty values count as absent.
 */
export function parseParams<T extends Record<string, ParamSpec>>(query: unknown, specs: T): ParseResult<T> {
  const out: Record<string, string | number> = {};
  const q = (query ?? {}) as Record<string, unknown>;
  for (const [name, raw] of Object.entries(q)) {
    const spec = specs[name];
    if (!spec) return { ok: false, error: `unknown parameter ${name.slice(0, 40)} (known: ${Object.keys(specs).join(', ')})` };
    if (Array.isArray(raw)) return { ok: false, error: `${name}: given more than once` };
    if (typeof raw !== 'string' || raw === '') continue;
    const r = one(name, spec, raw);
    if (!r.ok) return r;
    out[name] = r.value;
  }
  return { ok: true, value: out as Parsed<T> };
}
