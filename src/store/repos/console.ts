/**
 * The console's reads (issue 7): people search, conflicts and runs for the
 * Directory page, per-user migration progress, folders and refusals for the
 * Migration page, throughput buckets, and the chart samples `serve` writes every
 * minute (table console_samples, migration 006-console). Dialect-neutral SQL
 * only: LIKE with an explicit ESCAPE, integer division of BIGINTs, lower().
 */
import { sql, type Selectable } from 'kysely';
import type { ConsoleSamplesTable, DirectoryConflictsTable, RunsTable } from '../schema.js';
import { decodeJson, pageArgs, type RepoContext } from './context.js';

export interface PersonRow {
  address: string;
  displayName: string | null;
  aliases: string[];
  homeSystem: string;
  migrationState: string;
  sourceSystem: string | null;
  updatedAt: number;
}

export interface PeopleQuery {
  /** Matched case-insensitively as a substring of the address, an alias or the display name. */
  q?: string;
  /** Home system. */
  system?: string;
  limit: number;
  offset?: number;
}

export interface ConflictRow { kind: string; address: string; systems: string[]; winner: string | null; detail: string; firstSeen: number; lastSeen: number }

export interface RunRow { id: string; kind: string; startedAt: number; finishedAt: number | null; status: string; counts: Record<string, number>; error: string | null }

export interface MigrationUserRow {
  address: string;
  state: string;
  passes: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Totals of the last finished pass, as the engine recorded them. */
  counts: Record<string, number>;
  error: string | null;
  updatedAt: number;
  /** From the message map: messages per state (done, refused, intent, skipped) and bytes copied. */
  messages: Record<string, number>;
  copiedBytes: number;
}

export interface MigrationFolderRow {
  sourceFolder: string;
  targetFolder: string;
  uidValidity: number;
  highestUid: number;
  updatedAt: number;
  /** Messages of this folder per state in the message map. */
  messages: Record<string, number>;
}

export interface RefusedRow { folder: string; uid: number; size: number; reason: string | null; at: number }

export interface ThroughputBucket { at: number; messages: number; bytes: number }

export interface SampleInput { series: string; label?: string; at: number; value: number }

export interface SeriesPoints { series: string; label: string; points: [number, number][] }

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** A LIKE pattern matching `text` anywhere, with %, _ and the escape character taken literally. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function toRun(r: Selectable<RunsTable>): RunRow {
  return { id: r.id, kind: r.kind, startedAt: num(r.started_at), finishedAt: r.finished_at === null ? null : num(r.finished_at), status: r.status, counts: decodeJson(r.counts, 'runs.counts'), error: r.error };
}

function toConflict(c: Selectable<DirectoryConflictsTable>): ConflictRow {
  return { kind: c.kind, address: c.address, systems: decodeJson<string[]>(c.systems, 'directory_conflicts.systems'), winner: c.winner, detail: c.detail, firstSeen: num(c.first_seen), lastSeen: num(c.last_seen) };
}

export class ConsoleRepo {
  constructor(private readonly ctx: RepoContext) {}

  /** People of the unified directory, by address; `total` counts every match. */
  async searchPeople(opts: PeopleQuery): Promise<{ total: number; people: PersonRow[] }> {
    const { limit, offset } = pageArgs(opts.limit, opts.offset);
    const base = () => {
      let q = this.ctx.db.selectFrom('users');
      if (opts.system) q = q.where('home_system', '=', opts.system);
      const text = opts.q?.trim();
      if (text) {
        const like = containsPattern(text);
        q = q.where((eb) => eb.or([
          sql<boolean>`address like ${like} escape '\\'`,
          sql<boolean>`lower(display_name) like ${like} escape '\\'`,
          eb('address', 'in', eb.selectFrom('user_aliases').select('user_aliases.address').where(sql<boolean>`alias like ${like} escape '\\'`)),
        ]));
      }
      return q;
    };
    const [count, rows] = await Promise.all([
      base().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      base().selectAll().orderBy('address').limit(limit).offset(offset).execute(),
    ]);
    return {
      total: num(count.n),
      people: rows.map((r) => ({
        address: r.address, displayName: r.display_name, aliases: decodeJson<string[]>(r.aliases, 'users.aliases'), homeSystem: r.home_system,
        migrationState: r.migration_state, sourceSystem: r.source_system, updatedAt: num(r.updated_at),
      })),
    };
  }

  async conflicts(): Promise<ConflictRow[]> {
    const rows = await this.ctx.db.selectFrom('directory_conflicts').selectAll().orderBy('kind').orderBy('address').execute();
    return rows.map(toConflict);
  }

  /** The latest runs, newest first, of one kind or of every kind. */
  async runs(opts: { kind?: string; limit: number }): Promise<RunRow[]> {
    const { limit } = pageArgs(opts.limit);
    let q = this.ctx.db.selectFrom('runs').selectAll();
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    const rows = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRun);
  }

  private async messageStates(address?: string): Promise<Map<string, { states: Record<string, number>; bytes: number }>> {
    let q = this.ctx.db.selectFrom('migration_messages')
      .select(['address', 'state', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('size').as('bytes')]);
    if (address !== undefined) q = q.where('address', '=', address);
    const out = new Map<string, { states: Record<string, number>; bytes: number }>();
    for (const r of await q.groupBy(['address', 'state']).execute()) {
      const e = out.get(r.address) ?? { states: {}, bytes: 0 };
      e.states[r.state] = num(r.n);
      if (r.state === 'done') e.bytes += num(r.bytes);
      out.set(r.address, e);
    }
    return out;
  }

  /** Every user the migration engine has seen, by address, with the message map's counts. */
  async migrationUsers(address?: string): Promise<MigrationUserRow[]> {
    let q = this.ctx.db.selectFrom('migration_users').selectAll();
    if (address !== undefined) q = q.where('address', '=', address);
    const [rows, states] = await Promise.all([q.orderBy('address').execute(), this.messageStates(address)]);
    return rows.map((r) => ({
      address: r.address, state: r.state, passes: num(r.passes),
      startedAt: r.started_at === null ? null : num(r.started_at), finishedAt: r.finished_at === null ? null : num(r.finished_at),
      counts: decodeJson<Record<string, number>>(r.counts, 'migration_users.counts'), error: r.error, updatedAt: num(r.updated_at),
      messages: states.get(r.address)?.states ?? {}, copiedBytes: states.get(r.address)?.bytes ?? 0,
    }));
  }

  async migrationFolders(address: string): Promise<MigrationFolderRow[]> {
    const [rows, counts] = await Promise.all([
      this.ctx.db.selectFrom('migration_folders').selectAll().where('address', '=', address).orderBy('source_folder').execute(),
      this.ctx.db.selectFrom('migration_messages').select(['source_folder', 'state', (eb) => eb.fn.countAll<number>().as('n')])
        .where('address', '=', address).groupBy(['source_folder', 'state']).execute(),
    ]);
    return rows.map((r) => ({
      sourceFolder: r.source_folder, targetFolder: r.target_folder, uidValidity: num(r.uid_validity), highestUid: num(r.highest_uid), updatedAt: num(r.updated_at),
      messages: Object.fromEntries(counts.filter((c) => c.source_folder === r.source_folder).map((c) => [c.state, num(c.n)])),
    }));
  }

  /** Messages the target refused, with the server's answer as the engine recorded it. */
  async migrationRefusals(address: string, limit = 500): Promise<RefusedRow[]> {
    const rows = await this.ctx.db.selectFrom('migration_messages').select(['source_folder', 'source_uid', 'size', 'detail', 'updated_at'])
      .where('address', '=', address).where('state', '=', 'refused').orderBy('source_folder').orderBy('source_uid').limit(limit).execute();
    return rows.map((r) => ({ folder: r.source_folder, uid: num(r.source_uid), size: num(r.size), reason: r.detail, at: num(r.updated_at) }));
  }

  /**
   * Messages and bytes copied per bucket since `since` (the time each message's
   * map row was last written done: a later flag update moves it to that bucket).
   */
  async throughput(opts: { since: number; bucketMs: number; address?: string }): Promise<ThroughputBucket[]> {
    if (!Number.isInteger(opts.bucketMs) || opts.bucketMs < 1000) throw new RangeError(`bucket of ${opts.bucketMs} ms`);
    // A literal (checked above): integer division of BIGINT by an integer literal is the same on both dialects.
    const bucket = sql<number>`updated_at / ${sql.lit(opts.bucketMs)}`;
    let q = this.ctx.db.selectFrom('migration_messages')
      .select([bucket.as('b'), (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('size').as('bytes')])
      .where('state', '=', 'done').where('updated_at', '>=', opts.since);
    if (opts.address !== undefined) q = q.where('address', '=', opts.address);
    const rows = await q.groupBy(bucket).orderBy(bucket).execute();
    return rows.map((r) => ({ at: num(r.b) * opts.bucketMs, messages: num(r.n), bytes: num(r.bytes) }));
  }

  /** Messages and bytes whose map row turned done in [from, to). */
  async copiedBetween(from: number, to: number): Promise<{ messages: number; bytes: number }> {
    const r = await this.ctx.db.selectFrom('migration_messages')
      .select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('size').as('bytes')])
      .where('state', '=', 'done').where('updated_at', '>=', from).where('updated_at', '<', to).executeTakeFirstOrThrow();
    return { messages: num(r.n), bytes: num(r.bytes) };
  }

  /**
   * End-to-end delivery latencies (ms) of the recipients delivered in [from, to), with when each was delivered:
   * from the message's `received` tracking event at the same node to its `delivered` event.
   */
  async deliveryLatencies(from: number, to: number): Promise<{ at: number; ms: number }[]> {
    const rows = await this.ctx.db.selectFrom('gateway_tracking as d')
      .innerJoin('gateway_tracking as r', (j) => j.onRef('r.queue_id', '=', 'd.queue_id').onRef('r.node', '=', 'd.node').on('r.event', '=', 'received'))
      .select(['d.at as delivered', (eb) => eb.fn.min<number>('r.at').as('received')])
      .where('d.event', '=', 'delivered').where('d.at', '>=', from).where('d.at', '<', to)
      .groupBy(['d.id', 'd.at'])
      .execute();
    return rows.map((r) => ({ at: num(r.delivered), ms: Math.max(0, num(r.delivered) - num(r.received)) }));
  }

  /**
   * The cutover state and last records of a user from the cutover tables of
   * migration 005-cutover; null when there are none, or when this store has no
   * such tables (the console shows cutovers without depending on them).
   */
  async cutoverOf(address: string): Promise<{ user: Record<string, unknown> | null; records: Record<string, unknown>[] } | null> {
    try {
      const user = await sql<Record<string, unknown>>`select * from cutover_users where address = ${address}`.execute(this.ctx.db);
      const records = await sql<Record<string, unknown>>`select * from cutover_records where address = ${address} order by started_at desc limit 10`.execute(this.ctx.db);
      if (user.rows.length === 0 && records.rows.length === 0) return null;
      const camel = (r: Record<string, unknown>): Record<string, unknown> =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v]));
      return { user: user.rows[0] ? camel(user.rows[0]) : null, records: records.rows.map(camel) };
    } catch (err) {
      // SQLite: "no such table"; PostgreSQL: 42P01 "relation ... does not exist".
      if (/no such table|does not exist/i.test((err as Error).message)) return null;
      throw err;
    }
  }

  /** Writes samples; a second write of the same series, label and minute replaces the value. */
  async recordSamples(samples: readonly SampleInput[]): Promise<void> {
    const values = samples.map((s) => ({ series: s.series, label: s.label ?? '', at: s.at, value: s.value }));
    for (let i = 0; i < values.length; i += 100) {
      await this.ctx.db.insertInto('console_samples').values(values.slice(i, i + 100))
        .onConflict((oc) => oc.columns(['series', 'label', 'at']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    }
  }

  /** Samples of the named series since `since`, grouped per series and label, oldest point first. */
  async samples(opts: { series: readonly string[]; since: number; until?: number }): Promise<SeriesPoints[]> {
    if (opts.series.length === 0) return [];
    let q = this.ctx.db.selectFrom('console_samples').selectAll().where('series', 'in', [...opts.series]).where('at', '>=', opts.since);
    if (opts.until !== undefined) q = q.where('at', '<', opts.until);
    const rows: Selectable<ConsoleSamplesTable>[] = await q.orderBy('series').orderBy('label').orderBy('at').execute();
    const out: SeriesPoints[] = [];
    for (const r of rows) {
      let last = out.at(-1);
      if (!last || last.series !== r.series || last.label !== r.label) {
        last = { series: r.series, label: r.label, points: [] };
        out.push(last);
      }
      last.points.push([num(r.at), Number(r.value)]);
    }
    return out;
  }

  /** Deletes samples older than `before`; answers how many. */
  async pruneSamples(before: number): Promise<number> {
    const r = await this.ctx.db.deleteFrom('console_samples').where('at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
