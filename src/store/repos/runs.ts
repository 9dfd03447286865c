/** Job runs (directory sync, migration passes, probes): when, how it ended, what it counted. */
import type { Selectable } from 'kysely';
import type { RunsTable } from '../schema.js';
import { decodeJson, encodeJson, type RepoContext } from './context.js';

// The `string & {}` keeps completion for the known kinds while letting later subsystems add theirs.
export type RunKind = 'directory' | 'migration' | 'probe' | (string & {});
export type RunStatus = 'running' | 'ok' | 'failed';
export type RunCounts = Record<string, number>;

export interface Run {
  id: string;
  kind: RunKind;
  startedAt: number;
  finishedAt: number | null;
  status: RunStatus;
  counts: RunCounts;
  error: string | null;
}

function toRun(r: Selectable<RunsTable>): Run {
  return {
    id: r.id,
    kind: r.kind,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status as RunStatus,
    counts: decodeJson<RunCounts>(r.counts, 'runs.counts'),
    error: r.error,
  };
}

export class RunRepo {
  constructor(private readonly ctx: RepoContext) {}

  async start(kind: RunKind): Promise<Run> {
    const row = {
      id: this.ctx.newId(),
      kind,
      started_at: this.ctx.now(),
      finished_at: null,
      status: 'running',
      counts: '{}',
      error: null,
    };
    await this.ctx.db.insertInto('runs').values(row).execute();
    return toRun(row);
  }

  /** Ends a run; null when there is no run with this id. */
  async finish(id: string, status: Exclude<RunStatus, 'running'>, counts: RunCounts, error?: string | null): Promise<Run | null> {
    const r = await this.ctx.db
      .updateTable('runs')
      .set({ status, counts: encodeJson(counts), error: error ?? null, finished_at: this.ctx.now() })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return null;
    const row = await this.ctx.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return toRun(row);
  }

  /** The most recently started run of a kind (running or finished); null when none. */
  async latest(kind: RunKind): Promise<Run | null> {
    const row = await this.ctx.db
      .selectFrom('runs')
      .selectAll()
      .where('kind', '=', kind)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toRun(row) : null;
  }
}
