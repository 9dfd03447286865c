/**
 * The directory's rows in the store: loads what the plan compares against and
 * applies a plan's store writes in one transaction. Dialect-neutral Kysely.
 */
import type { Kysely } from 'kysely';
import type { Database, Repos, Store } from '../store/index.js';
import { contactKey, entryKey, type Plan, type StoredContactLite, type StoredEntryLite, type StoredUserLite } from './plan.js';
import type { Conflict, SourcePerson } from './types.js';

const CHUNK = 200;

function parseList(text: string): string[] {
  try { return JSON.parse(text) as string[]; } catch { return []; }
}

/** A stored entry, with what it takes to rebuild the source person without reading the directory. */
export interface StoredEntry extends StoredEntryLite {
  changeMark: string | null;
  row: { address: string; aliases: string; displayName: string | null; attributes: string; origins: string };
}

/** The person a stored entry describes, as the source said it at the last read. */
export function personFromEntry(e: StoredEntry): SourcePerson {
  const origins = JSON.parse(e.row.origins) as Record<string, string>;
  const { dn, ...rest } = origins;
  return {
    system: e.system, sourceId: e.sourceId, ...(dn !== undefined ? { dn } : {}), address: e.row.address,
    aliases: JSON.parse(e.row.aliases) as string[], displayName: e.row.displayName,
    attributes: JSON.parse(e.row.attributes) as Record<string, string>, origins: rest,
    ...(e.changeMark !== null ? { changeMark: e.changeMark } : {}), contentHash: e.contentHash,
  };
}

/** Per LDAP system: what the last read was (directory_sources). */
export interface SourceState {
  fingerprint: string;
  /** normalized DN -> [change mark, reason, DN] */
  skipped: Record<string, [string | null, string, string]>;
  fullAt: number;
  /** The highest change mark read so far (delta.ts); null when unknown. */
  high: string | null;
  /** Set on a state to write when only `high` moved: a read position, written but not counted as a store write. */
  positionOnly?: boolean;
}

export interface LoadedState {
  users: Map<string, StoredUserLite>;
  entries: Map<string, StoredEntry>;
  contacts: Map<string, StoredContactLite>;
  sources: Map<string, SourceState>;
}

/**
 * A users row for the plan. The aliases are parsed when asked for: the plan
 * reads them only to describe a changed person, and a run loads every user.
 */
class StoredUserRow implements StoredUserLite {
  private parsed: string[] | undefined;

  constructor(
    readonly address: string, readonly displayName: string | null, private readonly aliasesText: string, readonly homeSystem: string,
    readonly sourceSystem: string | null, readonly sourceId: string | null, readonly contentHash: string | null, readonly migrationState: string,
    private readonly attributesText?: string,
  ) {}

  get aliases(): string[] {
    return (this.parsed ??= parseList(this.aliasesText));
  }

  get attributes(): Record<string, string> | undefined {
    if (this.attributesText === undefined) return undefined;
    try { return JSON.parse(this.attributesText) as Record<string, string>; } catch { return undefined; }
  }
}

/** A users row (the columns loadState selects) for the plan. */
export function storedUser(r: {
  address: string; display_name: string | null; aliases: string; home_system: string;
  source_system: string | null; source_id: string | null; content_hash: string | null; migration_state: string; attributes?: string;
}): StoredUserLite {
  return new StoredUserRow(r.address, r.display_name, r.aliases, r.home_system, r.source_system, r.source_id, r.content_hash, r.migration_state, r.attributes);
}

export async function loadState(store: Store): Promise<LoadedState> {
  const users = new Map<string, StoredUserLite>();
  for (const r of await store.db.selectFrom('users')
    .select(['address', 'display_name', 'aliases', 'home_system', 'source_system', 'source_id', 'content_hash', 'migration_state']).execute()) {
    users.set(r.address, storedUser(r));
  }
  const entries = new Map<string, StoredEntry>();
  for (const r of await store.db.selectFrom('directory_entries')
    .select(['system', 'source_id', 'address', 'aliases', 'display_name', 'attributes', 'origins', 'content_hash', 'change_mark']).execute()) {
    entries.set(entryKey(r.system, r.source_id), {
      system: r.system, sourceId: r.source_id, contentHash: r.content_hash, changeMark: r.change_mark,
      row: { address: r.address, aliases: r.aliases, displayName: r.display_name, attributes: r.attributes, origins: r.origins },
    });
  }
  const contacts = new Map<string, StoredContactLite>();
  for (const r of await store.db.selectFrom('directory_contacts').select(['system', 'address', 'dn', 'content_hash', 'person_hash', 'source_system']).execute()) {
    contacts.set(contactKey(r.system, r.address), {
      system: r.system, address: r.address, dn: r.dn, contentHash: r.content_hash, personHash: r.person_hash, sourceSystem: r.source_system,
    });
  }
  return { users, entries, contacts, sources: await loadSources(store) };
}

export async function loadSources(store: Store): Promise<Map<string, SourceState>> {
  const sources = new Map<string, SourceState>();
  for (const r of await store.db.selectFrom('directory_sources').selectAll().execute()) {
    sources.set(r.system, { fingerprint: r.fingerprint, skipped: parseSkipped(r.skipped), fullAt: Number(r.full_at), high: r.high_mark ?? null });
  }
  return sources;
}

function parseSkipped(text: string): SourceState['skipped'] {
  try { return JSON.parse(text) as SourceState['skipped']; } catch { return {}; }
}

export const conflictKey = (c: Conflict): string => `${c.kind}|${c.address}|${c.subject ?? ''}`;

export interface StoreWriteCounts { users: number; entries: number; contactRows: number; conflicts: number; sources: number }

/** Store writes of a plan; contact rows only for the contacts whose directory writes succeeded. */
export async function applyToStore(
  store: Store, plan: Plan, contactRowsDone: Plan['contactAdds'], contactRowsGone: { system: string; address: string }[], now: number,
  sources: ReadonlyMap<string, SourceState> = new Map(),
): Promise<StoreWriteCounts> {
  return store.transaction(async (tx, repos) => {
    const n: StoreWriteCounts = { users: 0, entries: 0, contactRows: 0, conflicts: 0, sources: 0 };
    // Deletes first, then upserts, then a second try for records whose alias was still
    // held by another record changed later in the same run (an alias moving from A to
    // B): the unified set has each alias once, so the retry indexes it.
    for (const a of plan.userDeletes) { await repos.users.remove(a); n.users++; }
    // In bulk (a first sync writes every person); the users repository keeps upsert's rules per record.
    const upsert = async (list: Plan['userUpserts']) => {
      n.users += list.length;
      return repos.users.upsertMany(list.map((p) => ({
        address: p.address, homeSystem: p.home.system, displayName: p.entry.displayName, aliases: p.aliases,
        attributes: p.entry.attributes, sourceSystem: p.entry.system, sourceId: p.entry.sourceId, contentHash: p.contentHash,
      })));
    };
    const results = await upsert(plan.userUpserts);
    const retry = plan.userUpserts.filter((_, i) => results[i]!.aliasConflicts.length > 0);
    if (retry.length > 0) await upsert(retry);
    n.entries = await writeEntries(tx, plan, now);
    n.contactRows = await writeContactRows(tx, contactRowsDone, contactRowsGone, now);
    n.conflicts = await writeConflicts(tx, repos, plan.conflicts, now);
    n.sources = await writeSources(tx, sources, now);
    return n;
  });
}

async function writeEntries(tx: Kysely<Database>, plan: Plan, now: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < plan.entryUpserts.length; i += CHUNK) {
    const rows = plan.entryUpserts.slice(i, i + CHUNK).map((e) => ({
      system: e.system, source_id: e.sourceId, address: e.address, aliases: JSON.stringify(e.aliases),
      display_name: e.displayName, attributes: JSON.stringify(e.attributes), origins: JSON.stringify({ ...e.origins, ...(e.dn ? { dn: e.dn } : {}) }),
      content_hash: e.contentHash, change_mark: e.changeMark ?? null, first_seen: now, last_seen: now,
    }));
    await tx.insertInto('directory_entries').values(rows).onConflict((oc) => oc.columns(['system', 'source_id']).doUpdateSet((eb) => ({
      address: eb.ref('excluded.address'), aliases: eb.ref('excluded.aliases'), display_name: eb.ref('excluded.display_name'),
      attributes: eb.ref('excluded.attributes'), origins: eb.ref('excluded.origins'), content_hash: eb.ref('excluded.content_hash'),
      change_mark: eb.ref('excluded.change_mark'), last_seen: eb.ref('excluded.last_seen'),
    }))).execute();
    n += rows.length;
  }
  for (const e of plan.entryDeletes) {
    await tx.deleteFrom('directory_entries').where('system', '=', e.system).where('source_id', '=', e.sourceId).execute();
    n++;
  }
  return n;
}

/**
 * Contact rows in chunks, like the entries: a first sync writes one row per
 * contact (100,000), and one statement each cost more than the rest of the
 * store writes of the run. Within a chunk a (system, address) appears once
 * (the plan has one contact per address and system).
 */
async function writeContactRows(
  tx: Kysely<Database>, done: Plan['contactAdds'], gone: { system: string; address: string }[], now: number,
): Promise<number> {
  for (let i = 0; i < done.length; i += CHUNK) {
    const rows = done.slice(i, i + CHUNK).map((c) => ({
      system: c.system, address: c.contact.address, dn: c.dn, source_system: c.contact.sourceSystem,
      content_hash: c.contact.contentHash, person_hash: c.contact.personHash, created_at: now, updated_at: now,
    }));
    await tx.insertInto('directory_contacts').values(rows).onConflict((oc) => oc.columns(['system', 'address']).doUpdateSet((eb) => ({
      dn: eb.ref('excluded.dn'), source_system: eb.ref('excluded.source_system'),
      content_hash: eb.ref('excluded.content_hash'), person_hash: eb.ref('excluded.person_hash'), updated_at: eb.ref('excluded.updated_at'),
    }))).execute();
  }
  const bySystem = new Map<string, string[]>();
  for (const g of gone) {
    const list = bySystem.get(g.system) ?? [];
    list.push(g.address);
    bySystem.set(g.system, list);
  }
  for (const [system, addresses] of bySystem) {
    for (let i = 0; i < addresses.length; i += CHUNK) {
      await tx.deleteFrom('directory_contacts').where('system', '=', system).where('address', 'in', addresses.slice(i, i + CHUNK)).execute();
    }
  }
  return done.length + gone.length;
}

/** Open conflicts: new ones inserted, resolved ones removed, unchanged ones cost no write. */
async function writeConflicts(tx: Kysely<Database>, _repos: Repos, conflicts: readonly Conflict[], now: number): Promise<number> {
  const old = new Map((await tx.selectFrom('directory_conflicts').select(['key', 'detail', 'winner']).execute()).map((r) => [r.key, r]));
  const want = new Map(conflicts.map((c) => [conflictKey(c), c]));
  let n = 0;
  for (const [key, c] of want) {
    const prev = old.get(key);
    if (prev && prev.detail === c.detail && prev.winner === c.winner) continue;
    const row = { kind: c.kind, address: c.address, systems: JSON.stringify(c.systems), winner: c.winner, detail: c.detail, last_seen: now };
    await tx.insertInto('directory_conflicts').values({ key, ...row, first_seen: now })
      .onConflict((oc) => oc.column('key').doUpdateSet(row)).execute();
    n++;
  }
  for (const key of old.keys()) {
    if (!want.has(key)) { await tx.deleteFrom('directory_conflicts').where('key', '=', key).execute(); n++; }
  }
  return n;
}

/** The sources whose read state changed (fingerprint, skipped entries, a full read, the high mark). */
async function writeSources(tx: Kysely<Database>, sources: ReadonlyMap<string, SourceState>, now: number): Promise<number> {
  let n = 0;
  for (const [system, st] of sources) {
    const row = { fingerprint: st.fingerprint, skipped: JSON.stringify(st.skipped), full_at: st.fullAt, updated_at: now, high_mark: st.high };
    await tx.insertInto('directory_sources').values({ system, ...row }).onConflict((oc) => oc.column('system').doUpdateSet(row)).execute();
    if (st.positionOnly !== true) n++;
  }
  return n;
}
