/** Who did what to whom: cutovers, holds, deletes, logins. Append-only. */
import type { Selectable } from 'kysely';
import type { AuditLogTable } from '../schema.js';
import { decodeJson, encodeJson, pageArgs, type RepoContext } from './context.js';

export interface AuditInput {
  actor: string;
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
  /** Epoch ms; defaults to now. */
  at?: number;
}

export interface AuditEntry {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

function toEntry(r: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    details: decodeJson<Record<string, unknown>>(r.details, 'audit_log.details'),
  };
}

export class AuditRepo {
  constructor(private readonly ctx: RepoContext) {}

  async record(e: AuditInput): Promise<AuditEntry> {
    const row = {
      id: this.ctx.newId(),
      at: e.at ?? this.ctx.now(),
      actor: e.actor,
      action: e.action,
      target: e.target ?? null,
      details: encodeJson(e.details ?? {}),
    };
    await this.ctx.db.insertInto('audit_log').values(row).execute();
    return toEntry(row);
  }

  /** Newest first. */
  async list(opts: { limit: number; offset?: number }): Promise<AuditEntry[]> {
    const { limit, offset } = pageArgs(opts.limit, opts.offset);
    const rows = await this.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map(toEntry);
  }

  /** The newest entry of one action on one target (say the last `migration.verify` of a mailbox), or null. */
  async latest(action: string, target: string): Promise<AuditEntry | null> {
    const row = await this.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', action)
      .where('target', '=', target)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toEntry(row) : null;
  }
}
