/**
 * Incremental reads (issue 5: "unchanged entries cost no write", and a run
 * with 1,000 changes among 100,000 people in seconds). Instead of reading
 * every person and every contact whole, a run with a known starting point:
 *
 * - lists the people OU by name and change mark only (entryCSN on OpenLDAP,
 *   modifyTimestamp, uSNChanged on AD) and reads whole just the entries whose
 *   mark differs from the stored one or whose DN is new (added, renamed, moved
 *   between OUs); a DN no longer listed is a removal. Unchanged entries come
 *   from the store's directory_entries, as the source said them last time.
 * - lists the names of our contacts (marker) and reads whole the objects with
 *   a mail and without our marker (hand-made ones); a contact of ours whose
 *   store row matches is trusted (plan.ts decides which still need reading).
 *
 * A run reads everything (as the first one does) when the configuration of
 * the source changed (fingerprint), when `--full` asks for it, once a day so
 * hand edits of our contacts' values are repaired, and when so many entries
 * changed that one paged read is cheaper than reading them one by one.
 */
import { createHash } from 'node:crypto';
import type { LdapEndpoint } from '../config/index.js';
import { normalizeEntryDn, type LdapDirectory, type ListedEntry, type SkippedEntry } from './ldap.js';
import type { AttributeMap } from './mapping.js';
import { entryKey, type StoredContactLite } from './plan.js';
import { personFromEntry, type LoadedState, type SourceState } from './state.js';
import type { ExistingContact, SourcePerson } from './types.js';

/**
 * Bumped when what a read produces or what a contact looks like changes
 * (mapping, change mark, contact format): stores of an older version read
 * everything once.
 */
export const READ_FORMAT = 2;

/** A full read at least this often: our contacts' values edited by hand are repaired then. */
export const FULL_READ_EVERY_MS = 24 * 60 * 60 * 1000;

/** Above max(FETCH_MIN, FETCH_FRACTION of the listing) changed entries, one paged read is cheaper. */
const FETCH_MIN = 2000;
const FETCH_FRACTION = 0.1;

const tooMany = (fetch: number, listed: number): boolean => fetch > Math.max(FETCH_MIN, listed * FETCH_FRACTION);
export const tooManyChanged = tooMany;

export function sourceFingerprint(ldap: LdapEndpoint, map: AttributeMap, excludeUnder: readonly string[]): string {
  const what = [READ_FORMAT, ldap.url, ldap.flavor, ldap.baseDn, ldap.filter, ldap.contactsDn ?? null, map, [...excludeUnder].sort()];
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32);
}

/** Why this run reads the source whole; null when it may read incrementally. */
export function fullReadReason(prev: SourceState | undefined, fingerprint: string, now: number, forced: boolean): string | null {
  if (forced) return 'asked for (--full)';
  if (!prev) return 'no earlier read';
  if (prev.fingerprint !== fingerprint) return 'source configuration changed';
  if (now - prev.fullAt > FULL_READ_EVERY_MS) return 'daily full read';
  return null;
}

export interface IncrementalPeople {
  people: SourcePerson[];
  skipped: SkippedEntry[];
  /** Entries read whole (the rest came from the store). */
  fetched: number;
}

/** OpenLDAP's entryCSN: `YYYYmmddHHMMSS.uuuuuuZ#counter#sid#mod` (never a modifyTimestamp or a uSNChanged). */
const CSN = /^\d{14}\.\d{6}Z#[0-9a-f]+#[0-9a-f]+#[0-9a-f]+$/i;

/**
 * The mark attributes a listing asks for. The mark is the first of the mapped
 * attributes an entry has; when the first is entryCSN and every stored mark of
 * the system is a CSN (so came from entryCSN), asking for entryCSN alone gives
 * the same mark for every entry that has one, and halves what the listing
 * carries. An entry without it lists without a mark and is read whole, so the
 * narrowing never hides a change. Undefined: the map's attributes.
 */
export function markAttributes(
  map: AttributeMap, system: string, state: { entries: ReadonlyMap<string, { system: string; changeMark: string | null }> },
): readonly string[] | undefined {
  const attrs = map.changeMark ?? [];
  if (attrs.length < 2 || attrs[0]!.toLowerCase() !== 'entrycsn') return undefined;
  let marks = 0;
  for (const e of state.entries.values()) {
    if (e.system !== system || e.changeMark === null) continue;
    if (!CSN.test(e.changeMark)) return undefined;
    marks++;
  }
  return marks > 0 ? [attrs[0]!] : undefined;
}

/** People of one system, reading only what changed; null when a full read is cheaper. */
export async function readPeopleIncremental(
  dir: LdapDirectory, system: string, map: AttributeMap, excludeUnder: readonly string[], state: LoadedState, prev: SourceState,
): Promise<IncrementalPeople | null> {
  const listed = await dir.listPeople(map, excludeUnder, markAttributes(map, system, state));
  const people: SourcePerson[] = [];
  const skipped: SkippedEntry[] = [];
  const fetch: ListedEntry[] = [];
  for (const l of listed) {
    // Without a mark there is nothing to compare: the entry is read.
    if (l.mark !== null) {
      const e = state.entries.get(entryKey(system, l.id));
      if (e && e.changeMark === l.mark) { people.push(personFromEntry(e)); continue; }
      const s = prev.skipped[l.id];
      if (s && s[0] === l.mark) { skipped.push({ dn: s[2], reason: s[1], id: l.id, mark: l.mark }); continue; }
    }
    fetch.push(l);
  }
  if (tooMany(fetch.length, listed.length)) return null;
  const got = await dir.readPeopleByDn(fetch, map);
  people.push(...got.people);
  skipped.push(...got.skipped);
  return { people, skipped, fetched: fetch.length };
}

/** The skipped entries as stored for the next run (sorted, so an unchanged set compares equal). */
export function skippedState(skipped: readonly SkippedEntry[]): SourceState['skipped'] {
  const out: SourceState['skipped'] = {};
  for (const s of [...skipped].sort((a, b) => ((a.id ?? a.dn) < (b.id ?? b.dn) ? -1 : 1))) out[s.id ?? s.dn] = [s.mark ?? null, s.reason, s.dn];
  return out;
}

export const sameSkipped = (a: SourceState['skipped'], b: SourceState['skipped']): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface IncrementalContacts {
  contacts: ExistingContact[];
  /** Contacts read whole. */
  fetched: number;
  /** Addresses of store rows whose contact is no longer listed (deleted by hand, or renamed). */
  missing: string[];
  /**
   * A read by change (delta.ts): `contacts` holds only what changed; our other
   * contacts are the store's rows (scoped.ts buildScope adds those a run
   * compares). `ours` counts them all.
   */
  partial?: { ours: number };
}

/**
 * One system's contacts container from a names-only listing: our contacts
 * known to the store are trusted (address from the row, values unread), our
 * contacts the store does not know are read whole (a join), hand-made ones are
 * read whole. Null when so many are unknown that one paged read is cheaper.
 */
export async function readContactsIncremental(
  dir: LdapDirectory, system: string, rows: ReadonlyMap<string, StoredContactLite>,
): Promise<IncrementalContacts | null> {
  const { ours, foreign } = await dir.listContacts();
  const byDn = new Map<string, StoredContactLite>();
  for (const r of rows.values()) if (r.system === system) byDn.set(normalizeEntryDn(r.dn) ?? r.dn, r);
  const contacts: ExistingContact[] = [...foreign];
  const unknown: string[] = [];
  for (const dn of ours) {
    const id = normalizeEntryDn(dn) ?? dn;
    const row = byDn.get(id);
    if (row) {
      contacts.push({ system, dn, address: row.address, ours: true, markerSource: row.sourceSystem ?? null, values: {}, trusted: true });
      byDn.delete(id);
    } else unknown.push(dn);
  }
  if (tooMany(unknown.length, ours.length)) return null;
  contacts.push(...await dir.readContactsByDn(unknown));
  return { contacts, fetched: foreign.length + unknown.length, missing: [...byDn.values()].map((r) => r.address) };
}
