/**
 * Scoped incremental runs (issue 5: 1,000 changes among 100,000 people in
 * seconds). When every source is an LDAP source read incrementally, a run
 * does not rebuild the whole unified directory: it re-unifies only the
 * addresses the changes touch, and loads from the store a compact state
 * (marks, addresses, contact names) instead of every users, entries and
 * contacts row whole.
 *
 * The touched addresses (seeds) are: the old and new address and aliases of
 * every entry read whole (changed, added, renamed, moved) or gone; the
 * addresses of contacts that were read whole (hand-made ones, ours unknown to
 * the store) or are gone from the directory; every address of an open
 * conflict (so a conflict that goes away is resolved, and every open conflict
 * is reported again like a full run does); people whose cut-over state no
 * longer matches their home.
 *
 * The scope is then closed over the entries: every entry that names a scope
 * address (as primary address or alias) is in, with all of its addresses,
 * until nothing is added. unify() only compares entries that share an
 * address, so unifying a closed set gives exactly the records and conflicts a
 * full unify gives for those addresses (unify.test.ts checks this), and the
 * records outside the scope are unchanged from the store.
 */
import { sql } from 'kysely';
import type { Store } from '../store/index.js';
import type { IncrementalContacts } from './incremental.js';
import { normalizeEntryDn, type SkippedEntry } from './ldap.js';
import { contactKey, entryKey, type StoredContactLite, type StoredEntryLite, type StoredUserLite } from './plan.js';
import { personFromEntry, storedUser, type SourceState, type StoredEntry } from './state.js';
import type { ExistingContact, SourcePerson } from './types.js';

const CHUNK = 500;

/** A stored entry as far as a scoped run needs it for every entry: mark, hash and addresses. */
export interface CompactEntry extends StoredEntryLite {
  changeMark: string | null;
  address: string;
  /** JSON array text, as stored. */
  aliases: string;
}

export interface CompactState {
  entries: Map<string, CompactEntry>;
  /** Every contact row, or (contactsLoaded false: reads by change) only those a run has looked up so far. */
  contacts: Map<string, StoredContactLite>;
  contactsLoaded: boolean;
  /** Contact rows per system. */
  contactCounts: Record<string, number>;
  sources: Map<string, SourceState>;
  /** Addresses of the open conflicts. */
  conflictAddresses: string[];
  /** Stored users per home system: the deletion guard's base. */
  homes: Record<string, number>;
  /** Users whose cut-over state and home disagree (cut over, or cut-over undone, since the last run). */
  cutoverSeeds: string[];
}

/** Thrown by a scoped read when the run must read and unify everything after all. */
export class NeedsFullUnify extends Error {}

/** Separators of packedRows: ASCII unit and record separators, and a stand-in for NULL. */
const US = '\u001f';
const RS = '\u001e';
const NUL = '\u0001';

/**
 * Every row of a table as one string built by the database (group_concat /
 * string_agg) and split here: 100,000 rows cost one value instead of 100,000
 * row objects (the row-by-row select was most of a scoped run's load). Null
 * when a value holds a separator (the split would not line up): the caller
 * then selects row by row.
 */
export async function packedRows(store: Store, table: 'directory_entries' | 'directory_contacts', columns: readonly string[]): Promise<(string | null)[][] | null> {
  const fields = sql.join(columns.map((c) => sql`coalesce(${sql.ref(c)}, ${NUL})`), sql` || ${US} || `);
  const agg = store.dialect === 'postgres' ? sql`string_agg(${fields}, ${RS})` : sql`group_concat(${fields}, ${RS})`;
  const r = await sql<{ packed: string | null }>`select ${agg} as packed from ${sql.table(table)}`.execute(store.db);
  const packed = r.rows[0]?.packed ?? null;
  if (packed === null || packed === '') return [];
  const out: (string | null)[][] = [];
  for (const line of packed.split(RS)) {
    const f: (string | null)[] = line.split(US);
    if (f.length !== columns.length) return null;
    for (let i = 0; i < f.length; i++) if (f[i] === NUL) f[i] = null;
    out.push(f);
  }
  return out;
}

const CONTACT_COLUMNS = ['system', 'address', 'dn', 'content_hash', 'person_hash', 'source_system'] as const;

type ContactRow = { system: string; address: string; dn: string; content_hash: string; person_hash: string | null; source_system: string };
const contactLite = (r: ContactRow): StoredContactLite => ({
  system: r.system, address: r.address, dn: r.dn, contentHash: r.content_hash, personHash: r.person_hash, sourceSystem: r.source_system,
});

/**
 * The store's contact rows of one system at these addresses, added to the
 * compact state (a run that reads by change looks up only the contacts it
 * compares). Returns the rows found.
 */
export async function lookUpContacts(store: Store, compact: CompactState, system: string, addresses: Iterable<string>): Promise<StoredContactLite[]> {
  const out: StoredContactLite[] = [];
  const ask: string[] = [];
  for (const a of new Set(addresses)) {
    const known = compact.contacts.get(contactKey(system, a));
    if (known) out.push(known);
    else if (!compact.contactsLoaded) ask.push(a);
  }
  for (let i = 0; i < ask.length; i += CHUNK) {
    const rows = await store.db.selectFrom('directory_contacts').select(CONTACT_COLUMNS)
      .where('system', '=', system).where('address', 'in', ask.slice(i, i + CHUNK)).execute();
    for (const r of rows) {
      const c = contactLite(r);
      compact.contacts.set(contactKey(system, r.address), c);
      out.push(c);
    }
  }
  return out;
}

/**
 * `wantContacts` decides, once the entries are loaded, whether the contact
 * rows are needed whole (a run that lists contacts) or looked up as needed.
 */
export async function loadCompact(
  store: Store, migrationTo: string | undefined, sources: Map<string, SourceState>,
  wantContacts: (entries: ReadonlyMap<string, CompactEntry>) => boolean = () => true,
): Promise<CompactState> {
  const db = store.db;
  const entries = new Map<string, CompactEntry>();
  const entryCols = ['system', 'source_id', 'content_hash', 'change_mark', 'address', 'aliases'] as const;
  const packedEntries = await packedRows(store, 'directory_entries', entryCols);
  if (packedEntries) {
    for (const [system, sourceId, contentHash, changeMark, address, aliases] of packedEntries) {
      entries.set(entryKey(system!, sourceId!), { system: system!, sourceId: sourceId!, contentHash: contentHash!, changeMark: changeMark ?? null, address: address!, aliases: aliases! });
    }
  } else {
    for (const r of await db.selectFrom('directory_entries').select(entryCols).execute()) {
      entries.set(entryKey(r.system, r.source_id), {
        system: r.system, sourceId: r.source_id, contentHash: r.content_hash, changeMark: r.change_mark, address: r.address, aliases: r.aliases,
      });
    }
  }
  const contacts = new Map<string, StoredContactLite>();
  const contactsLoaded = wantContacts(entries);
  const packedContacts = contactsLoaded ? await packedRows(store, 'directory_contacts', CONTACT_COLUMNS) : [];
  if (packedContacts) {
    for (const [system, address, dn, contentHash, personHash, sourceSystem] of packedContacts) {
      contacts.set(contactKey(system!, address!), { system: system!, address: address!, dn: dn!, contentHash: contentHash!, personHash, sourceSystem: sourceSystem! });
    }
  } else {
    for (const r of await db.selectFrom('directory_contacts').select(CONTACT_COLUMNS).execute()) contacts.set(contactKey(r.system, r.address), contactLite(r));
  }
  const contactCounts: Record<string, number> = {};
  for (const r of await db.selectFrom('directory_contacts').select(['system', sql<number>`count(*)`.as('n')]).groupBy('system').execute()) {
    contactCounts[r.system] = Number(r.n);
  }
  const conflictAddresses = (await db.selectFrom('directory_conflicts').select('address').execute()).map((r) => r.address);
  const homes: Record<string, number> = {};
  for (const r of await db.selectFrom('users').select(['home_system', sql<number>`count(*)`.as('n')]).groupBy('home_system').execute()) {
    homes[r.home_system] = Number(r.n);
  }
  // A record's home is the system its values come from, except when a cut-over
  // homes it at the migration target that has no entry for it. Seeds: cut over but
  // not homed at the target, and homed elsewhere than its source other than by a
  // current cut-over (a cut-over undone, the target changed). Addresses that two
  // systems claim are open conflicts, seeds anyway; so a changed conflictWinner or
  // system order reaches every record it can change.
  const rows = await db.selectFrom('users').select('address').where('source_system', 'is not', null).where((eb) => {
    const notSource = eb('home_system', '!=', eb.ref('source_system'));
    if (migrationTo === undefined) return notSource;
    return eb.or([
      eb.and([eb('migration_state', '=', 'cutover'), eb('home_system', '!=', migrationTo)]),
      eb.and([notSource, eb.or([eb('migration_state', '!=', 'cutover'), eb('home_system', '!=', migrationTo)])]),
    ]);
  }).execute();
  const cutoverSeeds = rows.map((r) => r.address);
  return { entries, contacts, contactsLoaded, contactCounts, sources, conflictAddresses, homes, cutoverSeeds };
}

/** What a scoped read found in one LDAP system. */
export interface ScopedPeople {
  /** Entries read whole: changed, added, renamed or moved (a new DN). */
  fetched: SourcePerson[];
  skipped: SkippedEntry[];
  /** People of the system now (unchanged + fetched). */
  total: number;
  /** Stored entries that are no longer people (gone, renamed, lost their address). */
  removed: CompactEntry[];
}

const parseAliases = (text: string): string[] => {
  if (text === '[]') return [];
  try { return JSON.parse(text) as string[]; } catch { return []; }
};

export interface ScopeInput {
  compact: CompactState;
  /** Per LDAP system that has people. */
  people: ReadonlyMap<string, ScopedPeople>;
  /** Per system with a contacts container: the incremental listing. */
  contacts: ReadonlyMap<string, IncrementalContacts>;
}

export interface Scope {
  /** Every address whose record is recomputed. */
  addresses: Set<string>;
  /** The entries to unify: closed over shared addresses. */
  people: Map<string, SourcePerson[]>;
  /** Stored rows of those entries and of the removed ones (the plan's comparison base). */
  storedEntries: Map<string, StoredEntryLite>;
  storedUsers: Map<string, StoredUserLite>;
  /** Per system: the contacts the plan compares (those at scope addresses, and ours without an address). */
  contacts: Map<string, ExistingContact[]>;
}

/** Seeds and closure (pure): which entries to re-unify, by key, and every address they touch. */
export function closeScope(input: ScopeInput): { addresses: Set<string>; fetched: Map<string, SourcePerson>; unchanged: CompactEntry[] } {
  const { compact } = input;
  const seeds = new Set<string>();
  const addAll = (address: string, aliases: readonly string[]) => { seeds.add(address); for (const a of aliases) seeds.add(a); };
  const replaced = new Set<string>();
  const fetched = new Map<string, SourcePerson>();
  for (const [, r] of input.people) {
    for (const p of r.fetched) {
      const key = entryKey(p.system, p.sourceId);
      fetched.set(key, p);
      addAll(p.address, p.aliases);
      const old = compact.entries.get(key);
      if (old) { replaced.add(key); addAll(old.address, parseAliases(old.aliases)); }
    }
    for (const old of r.removed) { const key = entryKey(old.system, old.sourceId); replaced.add(key); addAll(old.address, parseAliases(old.aliases)); }
  }
  for (const [, c] of input.contacts) {
    for (const a of c.missing) seeds.add(a);
    for (const e of c.contacts) if (!e.trusted && e.address) seeds.add(e.address);
  }
  for (const a of compact.conflictAddresses) seeds.add(a);
  for (const a of compact.cutoverSeeds) seeds.add(a);

  // address -> keys of the entries naming it, over the entries as they are now.
  const index = new Map<string, string[]>();
  const put = (address: string, key: string) => {
    const list = index.get(address);
    if (list) list.push(key);
    else index.set(address, [key]);
  };
  for (const [key, e] of compact.entries) {
    if (replaced.has(key) || !input.people.has(e.system)) continue;
    put(e.address, key);
    for (const a of parseAliases(e.aliases)) put(a, key);
  }
  for (const [key, p] of fetched) { put(p.address, key); for (const a of p.aliases) put(a, key); }

  const addresses = new Set<string>();
  const keys = new Set<string>();
  const queue = [...seeds];
  while (queue.length > 0) {
    const address = queue.pop()!;
    if (addresses.has(address)) continue;
    addresses.add(address);
    for (const key of index.get(address) ?? []) {
      if (keys.has(key)) continue;
      keys.add(key);
      const p = fetched.get(key);
      if (p) { queue.push(p.address, ...p.aliases); continue; }
      const e = compact.entries.get(key)!;
      queue.push(e.address, ...parseAliases(e.aliases));
    }
  }
  const inScope = new Map<string, SourcePerson>();
  const unchanged: CompactEntry[] = [];
  for (const key of keys) {
    const p = fetched.get(key);
    if (p) inScope.set(key, p);
    else unchanged.push(compact.entries.get(key)!);
  }
  return { addresses, fetched: inScope, unchanged };
}

async function loadEntryRows(store: Store, list: readonly CompactEntry[]): Promise<StoredEntry[]> {
  const bySystem = new Map<string, string[]>();
  for (const e of list) {
    const ids = bySystem.get(e.system);
    if (ids) ids.push(e.sourceId);
    else bySystem.set(e.system, [e.sourceId]);
  }
  const out: StoredEntry[] = [];
  for (const [system, ids] of bySystem) {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await store.db.selectFrom('directory_entries')
        .select(['system', 'source_id', 'address', 'aliases', 'display_name', 'attributes', 'origins', 'content_hash', 'change_mark'])
        .where('system', '=', system).where('source_id', 'in', ids.slice(i, i + CHUNK)).execute();
      for (const r of rows) {
        out.push({
          system: r.system, sourceId: r.source_id, contentHash: r.content_hash, changeMark: r.change_mark,
          row: { address: r.address, aliases: r.aliases, displayName: r.display_name, attributes: r.attributes, origins: r.origins },
        });
      }
    }
  }
  return out;
}

async function loadUsers(store: Store, addresses: readonly string[]): Promise<Map<string, StoredUserLite>> {
  const users = new Map<string, StoredUserLite>();
  for (let i = 0; i < addresses.length; i += CHUNK) {
    const rows = await store.db.selectFrom('users')
      .select(['address', 'display_name', 'aliases', 'home_system', 'source_system', 'source_id', 'content_hash', 'migration_state', 'attributes'])
      .where('address', 'in', addresses.slice(i, i + CHUNK)).execute();
    for (const r of rows) users.set(r.address, storedUser(r));
  }
  return users;
}

/** The scope of a run: closure, then the store rows it compares against. */
export async function buildScope(store: Store, input: ScopeInput): Promise<Scope> {
  const closed = closeScope(input);
  const people = new Map<string, SourcePerson[]>();
  for (const system of input.people.keys()) people.set(system, []);
  const storedEntries = new Map<string, StoredEntryLite>();
  for (const p of closed.fetched.values()) {
    people.get(p.system)!.push(p);
    const key = entryKey(p.system, p.sourceId);
    const old = input.compact.entries.get(key);
    if (old) storedEntries.set(key, old);
  }
  const rows = await loadEntryRows(store, closed.unchanged);
  if (rows.length !== closed.unchanged.length) throw new NeedsFullUnify('the store changed while the run read it');
  for (const e of rows) {
    people.get(e.system)!.push(personFromEntry(e));
    storedEntries.set(entryKey(e.system, e.sourceId), input.compact.entries.get(entryKey(e.system, e.sourceId))!);
  }
  for (const [, r] of input.people) for (const old of r.removed) storedEntries.set(entryKey(old.system, old.sourceId), old);
  const storedUsers = await loadUsers(store, [...closed.addresses]);
  const contacts = new Map<string, ExistingContact[]>();
  for (const [system, c] of input.contacts) {
    const list = c.contacts.filter((e) => e.address === null || closed.addresses.has(e.address));
    if (c.partial) {
      // Read by change: our other contacts at the scope's addresses are the store's rows, trusted as a listing would.
      const read = new Set(c.contacts.map((e) => normalizeEntryDn(e.dn) ?? e.dn));
      for (const r of await lookUpContacts(store, input.compact, system, closed.addresses)) {
        if (read.has(normalizeEntryDn(r.dn) ?? r.dn)) continue;
        list.push({ system, dn: r.dn, address: r.address, ours: true, markerSource: r.sourceSystem ?? null, values: {}, trusted: true });
      }
    }
    contacts.set(system, list);
  }
  return { addresses: closed.addresses, people, storedEntries, storedUsers, contacts };
}
