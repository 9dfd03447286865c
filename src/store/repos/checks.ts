/** Results of endpoint checks (`mailbridge check`, the console's synthetic probes). */
import { sql, type Selectable } from 'kysely';
import type { CheckResultsTable } from '../schema.js';
import { fromDbBool, toDbBool } from '../schema.js';
import type { RepoContext } from './context.js';

export interface CheckInput {
  system: string;
  /** 'imap', 'smtp', 'ldap', ... */
  endpoint: string;
  ok: boolean;
  detail?: string | null;
  latencyMs?: number | null;
  /** Epoch ms; defaults to now. */
  checkedAt?: number;
}

export interface CheckResult {
  id: string;
  system: string;
  endpoint: string;
  ok: boolean;
  detail: string | null;
  latencyMs: number | null;
  checkedAt: number;
}

function toResult(r: Selectable<CheckResultsTable>): CheckResult {
  return {
    id: r.id,
    system: r.system,
    endpoint: r.endpoint,
    ok: fromDbBool(r.ok),
    detail: r.detail,
    latencyMs: r.latency_ms,
    checkedAt: r.checked_at,
  };
}

export class CheckRepo {
  constructor(private readonly ctx: RepoContext) {}

  async record(c: CheckInput): Promise<CheckResult> {
    const row = {
      id: this.ctx.newId(),
      system: c.system,
      endpoint: c.endpoint,
      ok: toDbBool(c.ok),
      detail: c.detail ?? null,
      latency_ms: c.latencyMs == null ? null : Math.round(c.latencyMs),
      checked_at: c.checkedAt ?? this.ctx.now(),
    };
    await this.ctx.db.insertInto('check_results').values(row).execute();
    return toResult(row);
  }

  /** The newest result of every (system, endpoint), ordered by system then endpoint. */
  async latest(): Promise<CheckResult[]> {
    // A window function: SQLite has them since 3.25, PostgreSQL always; the
    // (system, endpoint, checked_at) index serves the partition order.
    const rows = await this.ctx.db
      .selectFrom((eb) =>
        eb
          .selectFrom('check_results')
          .selectAll()
          .select(sql<number>`row_number() over (partition by system, endpoint order by checked_at desc, id desc)`.as('rn'))
          .as('ranked'),
      )
      .selectAll()
      .where('rn', '=', 1)
      .orderBy('system')
      .orderBy('endpoint')
      .execute();
    return rows.map(toResult);
  }
}
