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
  /** A system's name, or the subsystem ("gateway", "directory", "migration"). */
  system: string;
  /** An endpoint or probe, or what of the subsystem is wrong ("queue", "sync", "conflicts", "users"). */
  endpoint: string;
  light: Exclude<Light, 'green'>;
  detail: string;
  /** Anchor of the endpoint's row (or the subsystem's panel) on the overview page. */
  anchor: string;
  /** Where the details are: the endpoint's row, or the subsystem's page (#/queue, #/directory, #/migration). */
  href: string;
}

/** Queue figures of one destination (from the gateway in this process). */
export interface QueueRow {
  destination: string;
  messages: number;
  recipients: number;
  oldestAgeMs: number;
}

export interface MigrationProgress {
  /** Users by migration state (pending, copying, synced, verified, failed, cutover, ...). */
  users: Record<string, number>;
  /** Users the migration covers (migration.users or the directory), when known. */
  totalUsers: number | null;
  messagesCopied: number;
  bytesCopied: number;
  /** Estimated time until every user has had a first pass; null when there is nothing to go on. */
  etaMs: number | null;
}

export type SubsystemView =
  | { available: false; note: string }
  | {
    available: true; light: Light; summary: string; run: RunRow | null;
    /** The subsystem's detail page. */
    link?: string;
    queue?: QueueRow[];
    conflicts?: number;
    progress?: MigrationProgress;
  };

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
  /** The in-process gateway's queue per destination; absent when no gateway runs here. */
  queue?: QueueRow[];
  /** A queue whose oldest waiting message is older than this turns red; default 30 min. */
  queueAlarmMs?: number;
  /** Open address conflicts in the unified directory. */
  conflicts?: number;
  migration?: MigrationProgress;
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

const fmtAge = (ms: number): string => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

function gatewayView(queue: QueueRow[] | undefined, alarmMs: number): SubsystemView {
  if (queue === undefined) return { available: false, note: 'no gateway runs in this process' };
  const waiting = queue.filter((q) => q.destination !== 'held');
  const recipients = waiting.reduce((n, q) => n + q.recipients, 0);
  const oldest = waiting.reduce((m, q) => Math.max(m, q.oldestAgeMs), 0);
  const light: Light = oldest > alarmMs ? 'red' : 'green';
  const held = queue.find((q) => q.destination === 'held');
  const summary = recipients === 0
    ? `queue empty${held ? `; ${held.messages} held` : ''}`
    : `${recipients} recipient(s) waiting, oldest ${fmtAge(oldest)}${held ? `; ${held.messages} held` : ''}`;
  return { available: true, light, summary, run: null, link: '#/queue', queue };
}

function migrationView(run: RunRow | null | undefined, p: MigrationProgress | undefined): SubsystemView {
  if (!p) return runView('migration', run);
  const failed = p.users.failed ?? 0;
  const started = Object.values(p.users).reduce((a, b) => a + b, 0);
  const light: Light = failed > 0 ? 'red' : started === 0 ? 'grey' : 'green';
  const states = Object.entries(p.users).map(([k, v]) => `${k} ${v}`).join(', ');
  const summary = started === 0 ? 'no user migrated yet' : `${states}${failed > 0 ? ` (${failed} failed)` : ''}`;
  return { available: true, light, summary, run: run ?? null, link: '#/migration', progress: p };
}

function runView(kind: 'directory' | 'migration', run: RunRow | null | undefined): SubsystemView {
  if (run === undefined) return { available: false, note: 'not available yet' };
  if (run === null) return { available: true, light: 'grey', summary: `no ${kind} run recorded yet`, run: null };
  const counts = Object.entries(run.counts).map(([k, v]) => `${k} ${v}`).join(', ');
  const light: Light = run.status === 'failed' ? 'red' : run.status === 'ok' ? 'green' : 'grey';
  const summary = run.status === 'failed' ? `last run failed: ${run.error ?? 'no reason recorded'}` : `last run ${run.status}${counts ? `: ${counts}` : ''}`;
  return { available: true, light, summary, run };
}

function subsystemProblems(sub: Overview['subsystems'], conflicts: number): Problem[] {
  const out: Problem[] = [];
  const add = (system: string, endpoint: string, light: Problem['light'], detail: string, href: string): void => {
    out.push({ system, endpoint, light, detail, anchor: `sub-${system}`, href });
  };
  if (sub.gateway.available && sub.gateway.light === 'red') add('gateway', 'queue', 'red', sub.gateway.summary, '#/queue');
  if (sub.directory.available && sub.directory.light === 'red') add('directory', 'sync', 'red', sub.directory.summary, '#/directory');
  if (conflicts > 0) add('directory', 'conflicts', 'grey', `${conflicts} address conflict(s) need a decision`, '#/directory');
  if (sub.migration.available && sub.migration.light === 'red') add('migration', 'users', 'red', sub.migration.summary, '#/migration');
  return out;
}

export function buildOverview(input: OverviewInput): Overview {
  const systems = systemViews(input);
  const problems: Problem[] = [];
  for (const s of systems) {
    for (const e of s.endpoints) {
      if (e.light !== 'green') problems.push({ system: s.name, endpoint: e.endpoint, light: e.light, detail: e.detail, anchor: anchorOf(s.name, e.endpoint), href: `#${anchorOf(s.name, e.endpoint)}` });
    }
  }
  const directory = runView('directory', input.runs?.directory);
  if (directory.available && input.conflicts !== undefined) Object.assign(directory, { conflicts: input.conflicts, link: '#/directory' });
  const subsystems = {
    gateway: gatewayView(input.queue, input.queueAlarmMs ?? 30 * 60_000),
    directory,
    migration: migrationView(input.runs?.migration, input.migration),
  };
  problems.push(...subsystemProblems(subsystems, input.conflicts ?? 0));
  // Worst first; among equals, endpoints before subsystems (the sort is stable).
  problems.sort((a, b) => RANK[a.light] - RANK[b.light]);
  const subLights = Object.values(subsystems).flatMap((v) => (v.available && v.light === 'red' ? ['red' as const] : []));
  return { organization: input.organization, generatedAt: input.now, light: worst([...systems.map((s) => s.light), ...subLights]), systems, problems, subsystems };
}
