/**
 * Reading the sources of a directory sync run (sync.ts): CSV and LDIF files,
 * and each LDAP system's people and contacts container, whole (a first,
 * daily or --full read), by their change marks (a listing) or by change
 * (delta.ts: only what changed since the last run, plus a names-only listing
 * of the people for removals, renames and moves).
 */
import { readFile } from 'node:fs/promises';
import { MbError, describeError } from '../core/index.js';
import type { SystemConfig } from '../config/index.js';
import { normalizeDn } from '../protocol/ldap/index.js';
import type { ContactTarget } from './contacts.js';
import { parseUsersCsv } from './csv.js';
import { DirectoryErrors } from './errors.js';
import { OVERLAP_MS, deltaMark, effectiveOverlap, highestMark, isMark, markKind, sinceFilter, type DeltaMark } from './delta.js';
import {
  fullReadReason, markAttributes, readContactsIncremental, readPeopleIncremental, sameSkipped, skippedState, sourceFingerprint,
  tooManyChanged, type IncrementalContacts,
} from './incremental.js';
import { LdapDirectory, normalizeEntryDn, type ListedEntry, type SkippedEntry } from './ldap.js';
import { parseLdif } from './ldif.js';
import { attributeMap, mapEntry, type AttributeMap } from './mapping.js';
import { entryKey, type StoredContactLite } from './plan.js';
import { NeedsFullUnify, lookUpContacts, type CompactEntry, type CompactState, type ScopedPeople } from './scoped.js';
import type { LoadedState, SourceState } from './state.js';
import type { SourceRead, SyncDeps, SyncResult } from './sync.js';
import type { ExistingContact, SourcePerson } from './types.js';

export interface Sources {
  people: Map<string, SourcePerson[]>;
  kinds: Map<string, string>;
  skipped: SyncResult['skipped'];
  contacts: Map<string, ExistingContact[]>;
  targets: ContactTarget[];
  ldap: Map<string, LdapDirectory>;
  reads: Record<string, SourceRead>;
  /** Read state to store for the next run (only the systems whose state changed). */
  states: Map<string, SourceState>;
  /** Scoped runs: per LDAP system, what changed, and the contacts listings. */
  scoped: Map<string, ScopedPeople>;
  listings: Map<string, IncrementalContacts>;
}

export const newSources = (): Sources => ({
  people: new Map(), kinds: new Map(), skipped: [], contacts: new Map(), targets: [], ldap: new Map(), reads: {}, states: new Map(),
  scoped: new Map(), listings: new Map(),
});

/** How readSources uses the store: everything loaded (a full unify), or the compact state of a scoped run. */
export type ReadState = { kind: 'full'; state: LoadedState } | { kind: 'scoped'; state: CompactState };

export function contactsDns(systems: readonly SystemConfig[]): string[] {
  return systems.map((s) => s.ldap?.contactsDn).filter((d): d is string => d !== undefined);
}

async function readFileSource(s: SystemConfig, file: string, kind: 'csv' | 'ldif'): Promise<{ people: SourcePerson[]; skipped: SyncResult['skipped'] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MbError(DirectoryErrors.DIRECTORY_SOURCE_UNREACHABLE, `${s.name}: cannot read ${file}: ${describeError(err)}`, { cause: err, details: { system: s.name, file } });
  }
  if (kind === 'csv') return { people: parseUsersCsv(text, s.name, file), skipped: [] };
  const map = attributeMap(s.ldap?.flavor ?? 'openldap', s.ldap?.attributes ?? {});
  const people: SourcePerson[] = [];
  const skipped: SyncResult['skipped'] = [];
  for (const e of parseLdif(text, file)) {
    const r = mapEntry(s.name, normalizeDn(e.dn) ?? e.dn, e, map);
    if (r.ok) people.push(r.person);
    else skipped.push({ system: s.name, dn: r.dn, reason: r.reason });
  }
  return { people, skipped };
}

interface SourceResult {
  people: SourcePerson[];
  skipped: SyncResult['skipped'];
  kind: string;
  read?: SourceRead;
  contacts?: { list: ExistingContact[]; target: ContactTarget };
  state?: SourceState;
  /** Scoped runs: what changed (people holds the fetched entries only). */
  scoped?: ScopedPeople;
  listing?: IncrementalContacts;
}

/**
 * A scoped read of one system's people: list names and marks, read whole what
 * changed, and name the stored entries that are gone. Throws NeedsFullUnify
 * when so many changed that one paged read is cheaper.
 */
async function readPeopleScoped(
  dir: LdapDirectory, system: string, map: ReturnType<typeof attributeMap>, exclude: readonly string[], state: CompactState, prev: SourceState,
): Promise<ScopedPeople & { fetchedCount: number; marks: (string | null)[] }> {
  const listed = await dir.listPeople(map, exclude, markAttributes(map, system, state));
  const skipped: SkippedEntry[] = [];
  const fetch: ListedEntry[] = [];
  const current = new Set<string>();
  let unchanged = 0;
  for (const l of listed) {
    if (l.mark !== null) {
      const e = state.entries.get(entryKey(system, l.id));
      if (e && e.changeMark === l.mark) { unchanged++; current.add(l.id); continue; }
      const sk = prev.skipped[l.id];
      if (sk && sk[0] === l.mark) { skipped.push({ dn: sk[2], reason: sk[1], id: l.id, mark: l.mark }); continue; }
    }
    fetch.push(l);
  }
  if (tooManyChanged(fetch.length, listed.length)) throw new NeedsFullUnify(`${system}: ${fetch.length} entries changed`);
  const got = await dir.readPeopleByDn(fetch, map);
  skipped.push(...got.skipped);
  for (const p of got.people) current.add(p.sourceId);
  const removed = [...state.entries.values()].filter((e) => e.system === system && !current.has(e.sourceId));
  return { fetched: got.people, skipped, total: unchanged + got.people.length, removed, fetchedCount: fetch.length, marks: listed.map((l) => l.mark) };
}

/** What a run needs of one system's stored change marks: the mark to read by, the newest, one provider or not. */
interface MarkSummary { mark: DeltaMark | null; newest: string | null; singleProvider: boolean }

/**
 * Per stored-entries map (one per run) and system, summarized once: whether
 * contact rows are loaded whole, whether to read by change, from which mark
 * and with what overlap all look at every stored mark of the system.
 */
const summaries = new WeakMap<ReadonlyMap<string, CompactEntry>, Map<string, MarkSummary>>();

function markSummary(entries: ReadonlyMap<string, CompactEntry>, system: string, map: AttributeMap): MarkSummary {
  let bySystem = summaries.get(entries);
  if (!bySystem) { bySystem = new Map(); summaries.set(entries, bySystem); }
  const known = bySystem.get(system);
  if (known) return known;
  const marks: (string | null)[] = [];
  for (const e of entries.values()) if (e.system === system) marks.push(e.changeMark);
  const mark = deltaMark(map, marks);
  const summary: MarkSummary = mark === null
    ? { mark, newest: null, singleProvider: false }
    : { mark, newest: highestMark(mark.kind, null, marks), singleProvider: effectiveOverlap(mark, marks, 1) === 0 };
  bySystem.set(system, summary);
  return summary;
}

/** Whether every system with a contacts container will read it by change (readLdapSource's test), so nothing lists it. */
export function everyContactsReadByChange(deps: SyncDeps, entries: ReadonlyMap<string, CompactEntry>): boolean {
  return Object.values(deps.settings.systems).every((s) => !s.ldap?.contactsDn
    || markSummary(entries, s.name, attributeMap(s.ldap.flavor, s.ldap.attributes ?? {})).mark !== null);
}

/**
 * A scoped read by change (delta.ts): the people and contacts whose mark is at
 * or above the last run's high mark, read whole on one connection, while the
 * other lists the people's names (removals, renames, moves). Entries listed
 * but unknown to the store and to the read by change are read by name.
 * Contacts of ours the read did not return are taken from the store's rows
 * (one deleted by hand comes back at the daily full read).
 */
async function readLdapDelta(
  deps: SyncDeps, s: SystemConfig & { ldap: NonNullable<SystemConfig['ldap']> }, dir: LdapDirectory, map: ReturnType<typeof attributeMap>,
  exclude: readonly string[], state: CompactState, prev: SourceState, mark: DeltaMark, high: string, singleProvider: boolean,
): Promise<{ people: ScopedPeople & { fetchedCount: number }; listing: IncrementalContacts | null; high: string | null; since: string }> {
  const system = s.name;
  const configured = deps.settings.directory.changeOverlap ?? OVERLAP_MS;
  const overlap = singleProvider ? effectiveOverlap(mark, [high], configured) : configured;
  const since = sinceFilter(mark, high, overlap);
  const contactsDn = s.ldap.contactsDn;
  const cdir = await LdapDirectory.connect(system, s.ldap, { insecure: s.tlsInsecure === true, ...deps.ldap });
  let listed: ListedEntry[];
  let changed: Awaited<ReturnType<LdapDirectory['readPeople']>>;
  let changedContacts: Awaited<ReturnType<LdapDirectory['readContactsChanged']>> | null;
  try {
    [listed, { changed, changedContacts }] = await Promise.all([
      dir.listPeople(map, exclude, []),
      (async () => ({
        changed: await cdir.readPeople(map, exclude, since),
        changedContacts: contactsDn ? await cdir.readContactsChanged(since, mark.attribute) : null,
      }))(),
    ]);
  } finally {
    await cdir.close();
  }
  const present = new Set<string>();
  for (const l of listed) present.add(l.id);
  const fetched: SourcePerson[] = [];
  const skipped: SkippedEntry[] = [];
  const seen = new Set<string>();
  const current = new Set<string>();
  let unchanged = 0;
  // Changed entries the listing does not have went away in between: the next run sees them gone.
  for (const p of changed.people) {
    if (!present.has(p.sourceId)) continue;
    seen.add(p.sourceId);
    current.add(p.sourceId);
    const e = state.entries.get(entryKey(system, p.sourceId));
    // Read again within the overlap, unchanged since. By content too: two changes within one second share a
    // modifyTimestamp.
    if (e && e.changeMark !== null && e.changeMark === (p.changeMark ?? null) && e.contentHash === p.contentHash) unchanged++;
    else fetched.push(p);
  }
  for (const x of changed.skipped) {
    if (x.id === undefined || !present.has(x.id)) continue;
    seen.add(x.id);
    skipped.push(x);
  }
  const fetch: ListedEntry[] = [];
  for (const l of listed) {
    if (seen.has(l.id)) continue;
    if (state.entries.has(entryKey(system, l.id))) { unchanged++; current.add(l.id); continue; }
    const sk = prev.skipped[l.id];
    if (sk) { skipped.push({ dn: sk[2], reason: sk[1], id: l.id, mark: sk[0] }); continue; }
    fetch.push(l);
  }
  if (tooManyChanged(fetch.length + fetched.length, listed.length)) throw new NeedsFullUnify(`${system}: ${fetch.length + fetched.length} entries changed`);
  const got = await dir.readPeopleByDn(fetch, map);
  skipped.push(...got.skipped);
  for (const p of got.people) { current.add(p.sourceId); fetched.push(p); }
  const removed = [...state.entries.values()].filter((e) => e.system === system && !current.has(e.sourceId));
  const newHigh = highestMark(mark.kind, high, [
    ...changed.people.map((p) => p.changeMark), ...changed.skipped.map((x) => x.mark), ...got.people.map((p) => p.changeMark),
    ...(changedContacts?.marks ?? []),
  ]);
  const people = { fetched, skipped, total: unchanged + fetched.length, removed, fetchedCount: changed.people.length + changed.skipped.length + fetch.length };
  if (!changedContacts) return { people, listing: null, high: newHigh, since };
  const rows = new Map<string, StoredContactLite>();
  const addresses = changedContacts.contacts.map((c) => c.address).filter((a): a is string => a !== null);
  for (const r of await lookUpContacts(deps.store, state, system, addresses)) rows.set(r.address, r);
  const contacts: ExistingContact[] = [];
  let joined = 0;
  for (const c of changedContacts.contacts) {
    const row = c.address === null ? undefined : rows.get(c.address);
    const same = row !== undefined && (normalizeEntryDn(row.dn) ?? row.dn) === (normalizeEntryDn(c.dn) ?? c.dn);
    if (c.ours && !same) joined++;
    // Ours and as we wrote it (our own writes of the last run come back here): trusted, as a listing would have it.
    contacts.push(c.ours && same && c.hash === row.contentHash ? { ...c, trusted: true } : c);
  }
  // The others are the store's rows: buildScope adds those at the run's addresses.
  const ours = (state.contactCounts[system] ?? 0) + joined;
  return { people, listing: { contacts, fetched: changedContacts.contacts.length, missing: [], partial: { ours } }, high: newHigh, since };
}

/**
 * One LDAP system: people and contacts, incrementally when the store knows
 * where the last run left off. The people and the contacts are read at once,
 * on two connections (slapd keeps one paged-results state per connection): a
 * paged read is a chain of round trips, and two chains overlap.
 */
async function readLdapSource(
  deps: SyncDeps, s: SystemConfig & { ldap: NonNullable<SystemConfig['ldap']> }, exclude: readonly string[], src: Sources, rs: ReadState, full: boolean,
): Promise<SourceResult> {
  const state = rs.state;
  const dir = await LdapDirectory.connect(s.name, s.ldap, { insecure: s.tlsInsecure === true, ...deps.ldap });
  src.ldap.set(s.name, dir);
  const map = attributeMap(s.ldap.flavor, s.ldap.attributes ?? {});
  const fingerprint = sourceFingerprint(s.ldap, map, exclude);
  const prev = state.sources.get(s.name);
  const now = (deps.now ?? Date.now)();
  const forced = fullReadReason(prev, fingerprint, now, full);
  if (rs.kind === 'scoped' && forced !== null) throw new NeedsFullUnify(`${s.name}: ${forced}`);
  const contactsDn = s.ldap.contactsDn;
  const kind = markKind(map);
  if (rs.kind === 'scoped') {
    const { mark, newest, singleProvider } = markSummary(rs.state.entries, s.name, map);
    // The stored position, or (a store from before reads by change, or another mark kind) the newest stored mark.
    const kept = mark !== null && prev!.high !== null && isMark(mark, prev!.high) ? prev!.high : null;
    const high = mark === null ? null : kept ?? newest;
    if (mark !== null && high !== null) {
      const d = await readLdapDelta(deps, s, dir, map, exclude, rs.state, prev!, mark, high, singleProvider);
      const skipped = skippedState(d.people.skipped);
      const changedSkipped = !sameSkipped(prev!.skipped, skipped);
      return {
        scoped: d.people, ...(d.listing ? { listing: d.listing } : {}),
        people: d.people.fetched, skipped: d.people.skipped.map((x) => ({ system: s.name, dn: x.dn, reason: x.reason })), kind: 'ldap',
        read: { mode: 'incremental', people: d.people.fetchedCount, contacts: d.listing?.fetched ?? 0, since: d.since },
        ...(d.listing && contactsDn ? { contacts: { list: d.listing.contacts, target: { system: s.name, flavor: s.ldap.flavor, contactsDn } } } : {}),
        ...(changedSkipped || prev!.high !== d.high
          ? { state: { fingerprint, skipped, fullAt: prev!.fullAt, high: d.high, ...(changedSkipped ? {} : { positionOnly: true }) } } : {}),
      };
    }
  }
  const readPeople = async () => {
    if (rs.kind === 'scoped') {
      const r = await readPeopleScoped(dir, s.name, map, exclude, rs.state, prev!);
      return { people: r.fetched, skipped: r.skipped, fetched: r.fetchedCount, why: null, scoped: r, marks: r.marks };
    }
    const inc = forced === null ? await readPeopleIncremental(dir, s.name, map, exclude, rs.state, prev!) : null;
    if (inc) return { ...inc, why: null };
    const all = await dir.readPeople(map, exclude);
    return { people: all.people, skipped: all.skipped, fetched: all.people.length + all.skipped.length, why: forced ?? 'many entries changed', marks: undefined };
  };
  const readContacts = async () => {
    if (!contactsDn) return null;
    const cdir = await LdapDirectory.connect(s.name, s.ldap, { insecure: s.tlsInsecure === true, ...deps.ldap });
    try {
      const inc = forced === null ? await readContactsIncremental(cdir, s.name, state.contacts) : null;
      if (inc) return inc;
      if (rs.kind === 'scoped') throw new NeedsFullUnify(`${s.name}: many contacts unknown to the store`);
      const list = await cdir.readContacts();
      return { contacts: list, fetched: list.length, missing: [] };
    } finally {
      await cdir.close();
    }
  };
  const [r, c] = await Promise.all([readPeople(), readContacts()]);
  const read: SourceRead = { mode: r.why === null ? 'incremental' : 'full', ...(r.why !== null ? { reason: r.why } : {}), people: r.fetched, contacts: c?.fetched ?? 0 };
  const skipped = skippedState(r.skipped);
  // The highest mark seen: of every entry read (a full read starts afresh), and of a listing's marks.
  const high = kind === null ? null
    : highestMark(kind, r.why === null ? prev?.high ?? null : null, [...r.people.map((p) => p.changeMark), ...r.skipped.map((x) => x.mark), ...('marks' in r ? r.marks ?? [] : [])]);
  const changedState = forced !== null || !prev || !sameSkipped(prev.skipped, skipped);
  return {
    ...('scoped' in r ? { scoped: r.scoped } : {}), ...(c && rs.kind === 'scoped' ? { listing: c } : {}),
    people: r.people, skipped: r.skipped.map((x) => ({ system: s.name, dn: x.dn, reason: x.reason })), kind: 'ldap', read,
    ...(c && contactsDn ? { contacts: { list: c.contacts, target: { system: s.name, flavor: s.ldap.flavor, contactsDn } } } : {}),
    ...(changedState || prev?.high !== high
      ? { state: { fingerprint, skipped, fullAt: forced !== null ? now : prev!.fullAt, high, ...(changedState ? {} : { positionOnly: true }) } } : {}),
  };
}

async function readOne(deps: SyncDeps, s: SystemConfig, exclude: readonly string[], src: Sources, state: ReadState, full: boolean): Promise<SourceResult | null> {
  if (s.ldap) return readLdapSource(deps, { ...s, ldap: s.ldap }, exclude, src, state, full);
  if (s.users) return { ...await readFileSource(s, s.users, 'csv'), kind: 'csv' };
  if (s.ldif) return { ...await readFileSource(s, s.ldif, 'ldif'), kind: 'ldif' };
  return null;
}

/** Every source at once; the results (and the first failure) are taken in the order the systems are named. */
export async function readSources(deps: SyncDeps, src: Sources, state: ReadState, full: boolean): Promise<void> {
  const systems = Object.values(deps.settings.systems);
  const exclude = contactsDns(systems);
  const settled = await Promise.allSettled(systems.map((s) => readOne(deps, s, exclude, src, state, full)));
  for (const [i, s] of systems.entries()) {
    const got = settled[i]!;
    if (got.status === 'rejected') throw got.reason;
    const r = got.value;
    if (!r) continue;
    src.kinds.set(s.name, r.kind);
    // Zero people is a wrong filter, an empty OU or an outage, never "everyone left".
    if ((r.scoped?.total ?? r.people.length) === 0) {
      throw new MbError(DirectoryErrors.DIRECTORY_SOURCE_EMPTY,
        `${s.name}: the ${r.kind} source returned no people; refusing to treat that as everyone having left (check the filter and base DN)`,
        { details: { system: s.name } });
    }
    src.people.set(s.name, r.people);
    src.skipped.push(...r.skipped);
    if (r.read) src.reads[s.name] = r.read;
    if (r.contacts) {
      src.contacts.set(s.name, r.contacts.list);
      src.targets.push(r.contacts.target);
    }
    if (r.state) src.states.set(s.name, r.state);
    if (r.scoped) src.scoped.set(s.name, r.scoped);
    if (r.listing) src.listings.set(s.name, r.listing);
  }
}

