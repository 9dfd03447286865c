/**
 * Cutover state (issue 8): the gateway's per-address holds with their version,
 * the gateway nodes' acknowledgements and heartbeats, who is cut over, one
 * record per cutover/rollback attempt and one per executed wave. bigint
 * columns come back as strings from PostgreSQL: every number is Number()ed.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CutoverRecordsTable, CutoverUsersTable, CutoverWavesTable, Database } from '../schema.js';
import { decodeJson, encodeJson, inTransaction, type RepoContext } from './context.js';
import { normalizeAddress } from './users.js';

type Db = Kysely<Database>;

export interface HoldRow { address: string; reason: string; since: number; recordId: string | null }
export interface GatewayNode { node: string; holdVersionSeen: number; heartbeatAt: number }

export interface CutoverUser {
  address: string;
  state: 'cutover' | 'rolled-back';
  fromSystem: string;
  toSystem: string;
  cutOverAt: number | null;
  keepSyncingUntil: number | null;
  recordId: string | null;
}

export interface CutoverRecord {
  id: string;
  address: string;
  kind: 'cutover' | 'rollback';
  wave: string | null;
  status: 'running' | 'done' | 'refused' | 'rolled-back' | 'failed';
  failedStep: string | null;
  error: string | null;
  startedAt: number;
  heldAt: number | null;
  ackedAt: number | null;
  releasedAt: number | null;
  finishedAt: number | null;
  heldMs: number | null;
  details: Record<string, unknown>;
}

export type CutoverRecordPatch = Partial<Omit<CutoverRecord, 'id' | 'address' | 'kind' | 'startedAt'>>;

export interface WaveRun {
  id: string;
  name: string;
  dueAt: number;
  status: 'pre-delta' | 'running' | 'done' | 'failed';
  preDeltaAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  report: Record<string, unknown>;
}

const n = (v: unknown): number => Number(v);
const nn = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRecord(r: Selectable<CutoverRecordsTable>): CutoverRecord {
  return {
    id: r.id, address: r.address, kind: r.kind as CutoverRecord['kind'], wave: r.wave, status: r.status as CutoverRecord['status'],
    failedStep: r.failed_step, error: r.error, startedAt: n(r.started_at), heldAt: nn(r.held_at), ackedAt: nn(r.acked_at),
    releasedAt: nn(r.released_at), finishedAt: nn(r.finished_at), heldMs: nn(r.held_ms),
    details: decodeJson<Record<string, unknown>>(r.details, 'cutover_records.details'),
  };
}

function toUser(r: Selectable<CutoverUsersTable>): CutoverUser {
  return { address: r.address, state: r.state as CutoverUser['state'], fromSystem: r.from_system, toSystem: r.to_system,
    cutOverAt: nn(r.cut_over_at), keepSyncingUntil: nn(r.keep_syncing_until), recordId: r.record_id };
}

function toWave(r: Selectable<CutoverWavesTable>): WaveRun {
  return { id: r.id, name: r.name, dueAt: n(r.due_at), status: r.status as WaveRun['status'], preDeltaAt: nn(r.pre_delta_at),
    startedAt: nn(r.started_at), finishedAt: nn(r.finished_at), report: decodeJson<Record<string, unknown>>(r.report, 'cutover_waves.report') };
}

export class CutoverRepo {
  constructor(private readonly ctx: RepoContext) {}

  // --- holds -----------------------------------------------------------------

  /** One single-row read: what a gateway node asks on every delivery scan. */
  async holdVersion(): Promise<number> {
    const r = await this.ctx.db.selectFrom('cutover_meta').select('value').where('name', '=', 'hold_version').executeTakeFirst();
    return r ? n(r.value) : 0;
  }

  private async bump(tx: Db): Promise<number> {
    // The UPDATE takes the row lock, so concurrent changes get distinct versions (PostgreSQL) or serialize (SQLite).
    await tx.updateTable('cutover_meta').set({ value: sql`value + 1` }).where('name', '=', 'hold_version').execute();
    const r = await tx.selectFrom('cutover_meta').select('value').where('name', '=', 'hold_version').executeTakeFirstOrThrow();
    return n(r.value);
  }

  /** Holds an address's mail (primary address); returns the new hold version. */
  addHold(address: string, reason: string, recordId: string | null): Promise<number> {
    const a = normalizeAddress(address);
    const since = this.ctx.now();
    return inTransaction(this.ctx.db, async (tx) => {
      await tx.insertInto('cutover_holds').values({ address: a, reason, since, record_id: recordId })
        .onConflict((oc) => oc.column('address').doUpdateSet({ reason, record_id: recordId })).execute();
      return this.bump(tx);
    });
  }

  /** Releases an address; returns the new hold version. */
  removeHold(address: string): Promise<number> {
    const a = normalizeAddress(address);
    return inTransaction(this.ctx.db, async (tx) => {
      await tx.deleteFrom('cutover_holds').where('address', '=', a).execute();
      return this.bump(tx);
    });
  }

  async holds(): Promise<HoldRow[]> {
    const rows = await this.ctx.db.selectFrom('cutover_holds').selectAll().orderBy('address').execute();
    return rows.map((r) => ({ address: r.address, reason: r.reason, since: n(r.since), recordId: r.record_id }));
  }

  /** Every address whose mail is held: the held primary addresses and their aliases, lower case. */
  async heldAddresses(): Promise<{ version: number; addresses: string[] }> {
    return inTransaction(this.ctx.db, async (tx) => {
      const v = await tx.selectFrom('cutover_meta').select('value').where('name', '=', 'hold_version').executeTakeFirst();
      const holds = await tx.selectFrom('cutover_holds').select('address').execute();
      const aliases = holds.length === 0 ? [] : await tx.selectFrom('user_aliases').select('alias')
        .where('address', 'in', holds.map((h) => h.address)).execute();
      return { version: v ? n(v.value) : 0, addresses: [...holds.map((h) => h.address), ...aliases.map((x) => x.alias)] };
    });
  }

  // --- gateway nodes ---------------------------------------------------------

  /** A node's heartbeat, with the hold version it acknowledges (never lowered). */
  async reportNode(node: string, holdVersionSeen: number): Promise<void> {
    const now = this.ctx.now();
    await this.ctx.db.insertInto('gateway_nodes').values({ node, hold_version_seen: holdVersionSeen, heartbeat_at: now })
      .onConflict((oc) => oc.column('node').doUpdateSet({ hold_version_seen: holdVersionSeen, heartbeat_at: now })).execute();
  }

  async nodes(): Promise<GatewayNode[]> {
    const rows = await this.ctx.db.selectFrom('gateway_nodes').selectAll().orderBy('node').execute();
    return rows.map((r) => ({ node: r.node, holdVersionSeen: n(r.hold_version_seen), heartbeatAt: n(r.heartbeat_at) }));
  }

  // --- who is cut over -------------------------------------------------------

  /**
   * The flip, in one transaction: the unified record's home and migration state
   * (a directory sync keeps a `cutover` user on migration.to), the migration
   * engine's user state, and our row. False when the directory has no such user.
   */
  flipHome(address: string, opts: { home: string; migrationState: string; engineState?: string; user: Omit<CutoverUser, 'address'> | null }): Promise<boolean> {
    const a = normalizeAddress(address);
    const now = this.ctx.now();
    return inTransaction(this.ctx.db, async (tx) => {
      const r = await tx.updateTable('users').set({ home_system: opts.home, migration_state: opts.migrationState, updated_at: now })
        .where('address', '=', a).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await tx.updateTable('migration_users').set({ state: opts.engineState ?? opts.migrationState, updated_at: now }).where('address', '=', a).execute();
      const u = opts.user;
      if (u) {
        const row = { state: u.state, from_system: u.fromSystem, to_system: u.toSystem, cut_over_at: u.cutOverAt,
          keep_syncing_until: u.keepSyncingUntil, record_id: u.recordId, updated_at: now };
        await tx.insertInto('cutover_users').values({ address: a, ...row })
          .onConflict((oc) => oc.column('address').doUpdateSet(row)).execute();
      }
      return true;
    });
  }

  /** Held-recipient events the gateway tracked for these addresses since `since` (the messages a hold kept back). */
  async heldEvents(addresses: readonly string[], since: number): Promise<number> {
    if (addresses.length === 0) return 0;
    const r = await this.ctx.db.selectFrom('gateway_tracking').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('event', '=', 'held').where('recipient', 'in', addresses.map(normalizeAddress)).where('at', '>=', since).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async user(address: string): Promise<CutoverUser | null> {
    const r = await this.ctx.db.selectFrom('cutover_users').selectAll().where('address', '=', normalizeAddress(address)).executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async users(): Promise<CutoverUser[]> {
    return (await this.ctx.db.selectFrom('cutover_users').selectAll().orderBy('address').execute()).map(toUser);
  }

  // --- records ---------------------------------------------------------------

  async startRecord(address: string, kind: CutoverRecord['kind'], wave: string | null): Promise<CutoverRecord> {
    const row = { id: this.ctx.newId(), address: normalizeAddress(address), kind, wave, status: 'running', failed_step: null, error: null,
      started_at: this.ctx.now(), held_at: null, acked_at: null, released_at: null, finished_at: null, held_ms: null, details: '{}' };
    await this.ctx.db.insertInto('cutover_records').values(row).execute();
    return toRecord(row);
  }

  async updateRecord(id: string, p: CutoverRecordPatch): Promise<void> {
    const set: Record<string, unknown> = {};
    const cols: [keyof CutoverRecordPatch, string][] = [['wave', 'wave'], ['status', 'status'], ['failedStep', 'failed_step'], ['error', 'error'],
      ['heldAt', 'held_at'], ['ackedAt', 'acked_at'], ['releasedAt', 'released_at'], ['finishedAt', 'finished_at'], ['heldMs', 'held_ms']];
    for (const [k, c] of cols) if (p[k] !== undefined) set[c] = p[k];
    if (p.details !== undefined) set.details = encodeJson(p.details);
    if (Object.keys(set).length === 0) return;
    await this.ctx.db.updateTable('cutover_records').set(set).where('id', '=', id).execute();
  }

  async record(id: string): Promise<CutoverRecord | null> {
    const r = await this.ctx.db.selectFrom('cutover_records').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toRecord(r) : null;
  }

  /** Newest first. */
  async records(address: string, limit = 20): Promise<CutoverRecord[]> {
    const rows = await this.ctx.db.selectFrom('cutover_records').selectAll().where('address', '=', normalizeAddress(address))
      .orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRecord);
  }

  // --- waves -----------------------------------------------------------------

  /** The run of a wave at its due time; created (status pre-delta) when missing. Exactly one node creates it. */
  async claimWave(name: string, dueAt: number): Promise<{ wave: WaveRun; created: boolean }> {
    const id = this.ctx.newId();
    await this.ctx.db.insertInto('cutover_waves').values({ id, name, due_at: dueAt, status: 'pre-delta', pre_delta_at: null,
      started_at: null, finished_at: null, report: '{}' }).onConflict((oc) => oc.columns(['name', 'due_at']).doNothing()).executeTakeFirst();
    const row = await this.ctx.db.selectFrom('cutover_waves').selectAll().where('name', '=', name).where('due_at', '=', dueAt).executeTakeFirstOrThrow();
    return { wave: toWave(row), created: row.id === id };
  }

  async wave(name: string, dueAt: number): Promise<WaveRun | null> {
    const r = await this.ctx.db.selectFrom('cutover_waves').selectAll().where('name', '=', name).where('due_at', '=', dueAt).executeTakeFirst();
    return r ? toWave(r) : null;
  }

  /** Moves a wave run from one status to the next; false when another node moved it first. */
  async advanceWave(id: string, from: WaveRun['status'], patch: Partial<Omit<WaveRun, 'id' | 'name' | 'dueAt'>>): Promise<boolean> {
    const set: Record<string, unknown> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.preDeltaAt !== undefined) set.pre_delta_at = patch.preDeltaAt;
    if (patch.startedAt !== undefined) set.started_at = patch.startedAt;
    if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
    if (patch.report !== undefined) set.report = encodeJson(patch.report);
    const r = await this.ctx.db.updateTable('cutover_waves').set(set).where('id', '=', id).where('status', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Newest first. */
  async waves(limit = 50): Promise<WaveRun[]> {
    return (await this.ctx.db.selectFrom('cutover_waves').selectAll().orderBy('due_at', 'desc').limit(limit).execute()).map(toWave);
  }
}
