/**
 * The unified user record (DESIGN.md): one row per person keyed by the
 * lower-cased primary address, with a separate alias table so "who is
 * sales@example.com" is one indexed lookup on both dialects.
 */
import type { Kysely, Selectable } from 'kysely';
import type { MigrationState, SystemName, UserRecord } from '../../core/index.js';
import type { Database, UsersTable } from '../schema.js';
import { decodeJson, encodeJson, inTransaction, pageArgs, type RepoContext } from './context.js';

export interface StoredUser extends UserRecord {
  attributes: Record<string, unknown>;
  sourceSystem: string | null;
  sourceId: string | null;
  contentHash: string | null;
  firstSeen: number;
  lastSeen: number;
  updatedAt: number;
}

/**
 * What upsert writes. On an update, fields left undefined keep their stored value
 * (so a directory sync does not reset a migration state it knows nothing of).
 */
export interface UserUpsert {
  address: string;
  homeSystem: SystemName;
  displayName?: string | null;
  aliases?: readonly string[];
  attributes?: Record<string, unknown>;
  migrationState?: MigrationState;
  sourceSystem?: string | null;
  sourceId?: string | null;
  contentHash?: string | null;
}

export interface AliasConflict {
  alias: string;
  /** The address that already has it (as alias or as primary address). */
  owner: string;
}

export interface UpsertResult {
  created: boolean;
  /** Something other than last_seen differs from what was stored. */
  changed: boolean;
  /** Aliases kept in the record but not indexed, because another user holds them. */
  aliasConflicts: AliasConflict[];
}

export interface UserListOptions {
  homeSystem?: SystemName;
  limit: number;
  offset?: number;
}

type Row = Selectable<UsersTable>;
type Db = Kysely<Database>;

export function normalizeAddress(a: string): string {
  return a.trim().toLowerCase();
}

function normalizeAliases(address: string, aliases: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of aliases) {
    const n = normalizeAddress(a);
    if (n && n !== address) out.add(n);
  }
  return [...out];
}

function toUser(r: Row): StoredUser {
  return {
    address: r.address,
    aliases: decodeJson<string[]>(r.aliases, 'users.aliases'),
    displayName: r.display_name,
    homeSystem: r.home_system,
    migrationState: r.migration_state as MigrationState,
    attributes: decodeJson<Record<string, unknown>>(r.attributes, 'users.attributes'),
    sourceSystem: r.source_system,
    sourceId: r.source_id,
    contentHash: r.content_hash,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    updatedAt: r.updated_at,
  };
}

const CONTENT_COLUMNS = [
  'display_name', 'home_system', 'aliases', 'attributes', 'migration_state', 'source_system', 'source_id', 'content_hash',
] as const;

/** Records per statement in upsertMany: 200 x 11 columns stays far below both dialects' parameter limits. */
const MANY_CHUNK = 200;

type Content = Pick<Row, (typeof CONTENT_COLUMNS)[number]>;

/** What upsert writes for rec over the stored row `old` (undefined fields keep their stored value). */
function contentOf(address: string, rec: UserUpsert, old: Row | undefined): Content {
  return {
    display_name: rec.displayName !== undefined ? rec.displayName : (old?.display_name ?? null),
    home_system: rec.homeSystem,
    aliases: rec.aliases !== undefined ? encodeJson(normalizeAliases(address, rec.aliases)) : (old?.aliases ?? '[]'),
    attributes: rec.attributes !== undefined ? encodeJson(rec.attributes) : (old?.attributes ?? '{}'),
    migration_state: rec.migrationState ?? old?.migration_state ?? 'none',
    source_system: rec.sourceSystem !== undefined ? rec.sourceSystem : (old?.source_system ?? null),
    source_id: rec.sourceId !== undefined ? rec.sourceId : (old?.source_id ?? null),
    content_hash: rec.contentHash !== undefined ? rec.contentHash : (old?.content_hash ?? null),
  };
}

const byAlias = (a: AliasConflict, b: AliasConflict) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0);

/** Consecutive runs of records with distinct addresses, at most `size` each. */
function distinctChunks(recs: readonly UserUpsert[], size: number): UserUpsert[][] {
  const out: UserUpsert[][] = [];
  let cur: UserUpsert[] = [];
  let seen = new Set<string>();
  for (const r of recs) {
    const a = normalizeAddress(r.address);
    if (cur.length >= size || seen.has(a)) { out.push(cur); cur = []; seen = new Set(); }
    cur.push(r);
    seen.add(a);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export class UserRepo {
  constructor(private readonly ctx: RepoContext) {}

  /** Inserts or updates one user and re-indexes its aliases, in one transaction. */
  upsert(rec: UserUpsert): Promise<UpsertResult> {
    return inTransaction(this.ctx.db, (tx) => this.upsertIn(tx, rec));
  }

  /**
   * upsert for many records in a few statements per 200 (a directory sync writes
   * up to 100,000 people; one at a time that is six statements each). The same
   * rules per record, in order: an alias already indexed for its holder stays
   * with it, a free one goes to the first record that asks. Results are in the
   * order of `recs`.
   */
  upsertMany(recs: readonly UserUpsert[]): Promise<UpsertResult[]> {
    return inTransaction(this.ctx.db, async (tx) => {
      const out: UpsertResult[] = [];
      for (const chunk of distinctChunks(recs, MANY_CHUNK)) out.push(...await this.upsertChunk(tx, chunk));
      return out;
    });
  }

  private async upsertChunk(tx: Db, recs: readonly UserUpsert[]): Promise<UpsertResult[]> {
    const now = this.ctx.now();
    const addresses = recs.map((r) => normalizeAddress(r.address));
    const olds = new Map((await tx.selectFrom('users').selectAll().where('address', 'in', addresses).execute()).map((r) => [r.address, r]));
    const rows = recs.map((rec, i) => {
      const address = addresses[i]!;
      const old = olds.get(address);
      const content = contentOf(address, rec, old);
      const changed = !old || CONTENT_COLUMNS.some((c) => old[c] !== content[c]);
      return { address, content, changed, created: !old, updatedAt: changed ? now : old.updated_at };
    });
    await tx.insertInto('users')
      .values(rows.map((r) => ({ address: r.address, ...r.content, first_seen: now, last_seen: now, updated_at: r.updatedAt })))
      .onConflict((oc) => oc.column('address').doUpdateSet((eb) => ({
        display_name: eb.ref('excluded.display_name'), home_system: eb.ref('excluded.home_system'), aliases: eb.ref('excluded.aliases'),
        attributes: eb.ref('excluded.attributes'), migration_state: eb.ref('excluded.migration_state'),
        source_system: eb.ref('excluded.source_system'), source_id: eb.ref('excluded.source_id'), content_hash: eb.ref('excluded.content_hash'),
        last_seen: eb.ref('excluded.last_seen'), updated_at: eb.ref('excluded.updated_at'),
      })))
      .execute();
    const wanted = rows.map((r) => decodeJson<string[]>(r.content.aliases, 'users.aliases'));
    const conflicts = await this.reindexAliasesMany(tx, addresses, wanted);
    return rows.map((r, i) => ({ created: r.created, changed: r.changed, aliasConflicts: conflicts[i]! }));
  }

  /** reindexAliases for a chunk of distinct addresses, in a fixed number of statements. */
  private async reindexAliasesMany(tx: Db, addresses: readonly string[], wanted: readonly string[][]): Promise<AliasConflict[][]> {
    const held = new Map<string, string>(); // alias -> address, for the chunk's addresses
    for (const r of await tx.selectFrom('user_aliases').select(['alias', 'address']).where('address', 'in', addresses).execute()) held.set(r.alias, r.address);
    const wantedBy = addresses.map((a, i) => ({ address: a, aliases: new Set(wanted[i]) }));
    const index = new Map(wantedBy.map((w) => [w.address, w.aliases]));
    const stale = [...held].filter(([alias, address]) => !index.get(address)!.has(alias)).map(([alias]) => alias);
    for (let i = 0; i < stale.length; i += MANY_CHUNK) {
      await tx.deleteFrom('user_aliases').where('alias', 'in', stale.slice(i, i + MANY_CHUNK)).where('address', 'in', addresses).execute();
    }
    const all = [...new Set(wanted.flat())];
    if (all.length === 0) return addresses.map(() => []);
    const primaries = new Set<string>();
    const holders = new Map<string, string>();
    for (let i = 0; i < all.length; i += MANY_CHUNK) {
      const part = all.slice(i, i + MANY_CHUNK);
      for (const p of await tx.selectFrom('users').select('address').where('address', 'in', part).execute()) primaries.add(p.address);
    }
    // An alias already indexed for its holder stays; a free one goes to the first record asking for it.
    const inserts: { alias: string; address: string }[] = [];
    const claimed = new Set<string>();
    for (const w of wantedBy) {
      for (const alias of w.aliases) {
        if (primaries.has(alias) || held.get(alias) === w.address || claimed.has(alias)) continue;
        claimed.add(alias);
        inserts.push({ alias, address: w.address });
      }
    }
    for (let i = 0; i < inserts.length; i += MANY_CHUNK) {
      // Never take an alias away from another user silently: the directory decides.
      await tx.insertInto('user_aliases').values(inserts.slice(i, i + MANY_CHUNK)).onConflict((oc) => oc.column('alias').doNothing()).execute();
    }
    for (let i = 0; i < all.length; i += MANY_CHUNK) {
      const part = all.slice(i, i + MANY_CHUNK);
      for (const o of await tx.selectFrom('user_aliases').select(['alias', 'address']).where('alias', 'in', part).execute()) holders.set(o.alias, o.address);
    }
    return wantedBy.map((w) => {
      const out: AliasConflict[] = [];
      for (const alias of w.aliases) {
        if (primaries.has(alias)) out.push({ alias, owner: alias });
        else if (holders.has(alias) && holders.get(alias) !== w.address) out.push({ alias, owner: holders.get(alias)! });
      }
      return out.sort(byAlias);
    });
  }

  private async upsertIn(tx: Db, rec: UserUpsert): Promise<UpsertResult> {
    const address = normalizeAddress(rec.address);
    const now = this.ctx.now();
    const old = await tx.selectFrom('users').selectAll().where('address', '=', address).executeTakeFirst();
    const content = contentOf(address, rec, old);
    const changed = !old || CONTENT_COLUMNS.some((c) => old[c] !== content[c]);
    const updatedAt = changed ? now : old.updated_at;
    await tx
      .insertInto('users')
      .values({ address, ...content, first_seen: now, last_seen: now, updated_at: updatedAt })
      // A concurrent insert of the same address (another node's sync) becomes an update.
      .onConflict((oc) => oc.column('address').doUpdateSet({ ...content, last_seen: now, updated_at: updatedAt }))
      .execute();
    const aliasConflicts = await this.reindexAliases(tx, address, decodeJson<string[]>(content.aliases, 'users.aliases'));
    return { created: !old, changed, aliasConflicts };
  }

  private async reindexAliases(tx: Db, address: string, aliases: string[]): Promise<AliasConflict[]> {
    let del = tx.deleteFrom('user_aliases').where('address', '=', address);
    if (aliases.length > 0) del = del.where('alias', 'not in', aliases);
    await del.execute();
    if (aliases.length === 0) return [];
    // An alias that is someone's primary address would be shadowed by it in get(): a conflict too.
    const primaries = await tx.selectFrom('users').select('address').where('address', 'in', aliases).execute();
    const taken = new Set(primaries.map((p) => p.address));
    const free = aliases.filter((a) => !taken.has(a));
    if (free.length > 0) {
      await tx
        .insertInto('user_aliases')
        .values(free.map((alias) => ({ alias, address })))
        // Never take an alias away from another user silently: the directory decides.
        .onConflict((oc) => oc.column('alias').doNothing())
        .execute();
    }
    const others = await tx
      .selectFrom('user_aliases')
      .select(['alias', 'address'])
      .where('alias', 'in', aliases)
      .where('address', '!=', address)
      .execute();
    const byAlias = new Map<string, AliasConflict>();
    for (const o of others) byAlias.set(o.alias, { alias: o.alias, owner: o.address });
    for (const p of primaries) byAlias.set(p.address, { alias: p.address, owner: p.address });
    return [...byAlias.values()].sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
  }

  /** The user whose primary address or alias this is; null when nobody has it. */
  async get(addressOrAlias: string): Promise<StoredUser | null> {
    const key = normalizeAddress(addressOrAlias);
    const direct = await this.ctx.db.selectFrom('users').selectAll().where('address', '=', key).executeTakeFirst();
    if (direct) return toUser(direct);
    const viaAlias = await this.ctx.db
      .selectFrom('user_aliases')
      .innerJoin('users', 'users.address', 'user_aliases.address')
      .selectAll('users')
      .where('user_aliases.alias', '=', key)
      .executeTakeFirst();
    return viaAlias ? toUser(viaAlias) : null;
  }

  /** Users ordered by address. */
  async list(opts: UserListOptions): Promise<StoredUser[]> {
    const { limit, offset } = pageArgs(opts.limit, opts.offset);
    let q = this.ctx.db.selectFrom('users').selectAll();
    if (opts.homeSystem !== undefined) q = q.where('home_system', '=', opts.homeSystem);
    const rows = await q.orderBy('address').limit(limit).offset(offset).execute();
    return rows.map(toUser);
  }

  async count(opts: { homeSystem?: SystemName } = {}): Promise<number> {
    let q = this.ctx.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'));
    if (opts.homeSystem !== undefined) q = q.where('home_system', '=', opts.homeSystem);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Moves a user (by primary address) to another system; false when there is no such user. */
  async setHome(address: string, system: SystemName): Promise<boolean> {
    const r = await this.ctx.db
      .updateTable('users')
      .set({ home_system: system, updated_at: this.ctx.now() })
      .where('address', '=', normalizeAddress(address))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Deletes a user (by primary address) and, by cascade, its aliases; false when there was none. */
  async remove(address: string): Promise<boolean> {
    const r = await this.ctx.db.deleteFrom('users').where('address', '=', normalizeAddress(address)).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
