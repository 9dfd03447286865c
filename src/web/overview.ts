/**
 * The console's overview, computed from what the store knows (pure: values in,
 * value out). Per system a traffic light per endpoint from the latest check:
 * green (answered as expected), red (failed), grey (never checked, or the last
 * result is older than `staleAfterMs`: a light nobody refreshed must not stay
 * green). Systems and problems are ordered worst first. Subsystems that have
 * not landed yet say so instead of showing numbers.
 */
import type { CheckResult } from '../store/index.js';

export type Light = 'green' | 'red' | 'grey';

/** A check result as the store keeps it (its id is not needed here). */
export type CheckRow = Omit<CheckResult, 'id'>;

export interface RunRow {
  kind: string;
  startedAt: number;
  finishedAt: number | null;
  status: string;
  counts: Record<string, number>;
  error: string | null;
}

export interface EndpointView {
  endpoint: string;
  light: Light;
  /** Why the light has its colour, in one line. */
  detail: string;
  latencyMs: number | null;
  checkedAt: number | null;
  stale: boolean;
}

export interface SystemView {
  name: string;
  light: Light;
  endpoints: EndpointView[];
}

export interface Problem {
  system: string;
  endpoint: string;
  light: Exclude<Light, 'green'>;
  detail: string;
  /** Anchor of the endpoint's row on the overview page. */
  anchor: string;
}

export type SubsystemView =
  | { available: false; note: string }
  | { available: true; light: Light; summary: string; run: RunRow | null };

export interface Overview {
  organization: string;
  generatedAt: number;
  light: Light;
  systems: SystemView[];
  problems: Problem[];
  subsystems: { gateway: SubsystemView; directory: SubsystemView; migration: SubsystemView };
}

export interface OverviewInput {
  organization: string;
  now: number;
  staleAfterMs: number;
  checks: CheckRow[];
  /** Per system the endpoints the config has; results for others are ignored. Absent: whatever was checked. */
  expected?: Record<string, string[]>;
  /** Latest run per kind, when the subsystem records runs and has one. */
  runs?: Partial<Record<'directory' | 'migration', RunRow | null>>;
}

const RANK: Record<Light, number> = { red: 0, grey: 1, green: 2 };

export function worst(lights: Light[]): Light {
  return lights.reduce<Light>((w, l) => (RANK[l] < RANK[w] ? l : w), 'green');
}

export function anchorOf(system: string, endpoint: string): string {
  return `ep-${system}-${endpoint}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

function endpointView(endpoint: string, row: CheckRow | undefined, now: number, staleAfterMs: number): EndpointView {
  if (!row) return { endpoint, light: 'grey', detail: 'not checked yet', latencyMs: null, checkedAt: null, stale: false };
  const stale = now - row.checkedAt > staleAfterMs;
  const what = row.detail ?? (row.ok ? 'ok' : 'failed');
  if (stale) {
    const mins = Math.round((now - row.checkedAt) / 60_000);
    return { endpoint, light: 'grey', detail: `no result for ${mins} min (last: ${row.ok ? 'ok' : 'failed'}: ${what})`, latencyMs: row.latencyMs, checkedAt: row.checkedAt, stale };
  }
  return { endpoint, light: row.ok ? 'green' : 'red', detail: what, latencyMs: row.latencyMs, checkedAt: row.checkedAt, stale };
}

function systemViews(input: OverviewInput): SystemView[] {
  const byKey = new Map(input.checks.map((c) => [`${c.system}\u0000${c.endpoint}`, c]));
  const expected = input.expected ?? groupChecked(input.checks);
  const systems = Object.entries(expected).map(([name, endpoints]): SystemView => {
    const views = endpoints.map((e) => endpointView(e, byKey.get(`${name}\u0000${e}`), input.now, input.staleAfterMs));
    views.sort((a, b) => RANK[a.light] - RANK[b.light]);
    return { name, light: worst(views.map((v) => v.light)), endpoints: views };
  });
  // Worst first; systems of equal health keep the config's order (sort is stable).
  return systems.sort((a, b) => RANK[a.light] - RANK[b.light]);
}

function groupChecked(checks: CheckRow[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of checks) (out[c.system] ??= []).push(c.endpoint);
  return out;
}

function runView(kind: 'directory' | 'migration', run: RunRow | null | undefined): SubsystemView {
  if (run === undefined) return { available: false, note: 'not available yet' };
  if (run === null) return { available: true, light: 'grey', summary: `no ${kind} run recorded yet`, run: null };
  const counts = Object.entries(run.counts).map(([k, v]) => `${k} ${v}`).join(', ');
  const light: Light = run.status === 'failed' ? 'red' : run.status === 'ok' ? 'green' : 'grey';
  const summary = run.status === 'failed' ? `last run failed: ${run.error ?? 'no reason recorded'}` : `last run ${run.status}${counts ? `: ${counts}` : ''}`;
  return { available: true, light, summary, run };
}

export function buildOverview(input: OverviewInput): Overview {
  const systems = systemViews(input);
  const problems: Problem[] = [];
  for (const s of systems) {
    for (const e of s.endpoints) {
      if (e.light !== 'green') problems.push({ system: s.name, endpoint: e.endpoint, light: e.light, detail: e.detail, anchor: anchorOf(s.name, e.endpoint) });
    }
  }
  problems.sort((a, b) => RANK[a.light] - RANK[b.light]);
  const subsystems = {
    // The gateway's queue joins when the gateway lands (issue 7 lists its depth and oldest age).
    gateway: { available: false, note: 'not available yet' } as SubsystemView,
    directory: runView('directory', input.runs?.directory),
    migration: runView('migration', input.runs?.migration),
  };
  return { organization: input.organization, generatedAt: input.now, light: worst(systems.map((s) => s.light)), systems, problems, subsystems };
}
