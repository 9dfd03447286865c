/**
 * One sync run's plan, computed from what the sources say, what the systems'
 * contact containers hold and what the store remembers. Pure: the run applies
 * it (sync.ts) or, with --dry-run, only prints its diff.
 */
import { comparable, planContacts, desiredContact, type ContactChange, type ContactTarget } from './contacts.js';
import { unify, type RoutingRules, type UnifyResult } from './unify.js';
import type { Conflict, DesiredContact, ExistingContact, ItemChange, SourcePerson, SyncDiff, UnifiedPerson } from './types.js';

/** A users row as far as the plan needs it. */
export interface StoredUserLite {
  address: string;
  displayName: string | null;
  aliases: string[];
  homeSystem: string;
  sourceSystem: string | null;
  sourceId: string | null;
  contentHash: string | null;
  migrationState: string;
  /** The record's attributes, when the caller loaded them (scoped runs): what its contacts were made from. */
  readonly attributes?: Record<string, string> | undefined;
}

export interface StoredEntryLite {
  system: string;
  sourceId: string;
  contentHash: string;
  /** The change mark stored with the entry; undefined when the caller does not track marks. */
  changeMark?: string | null;
}

export interface StoredContactLite {
  system: string;
  address: string;
  dn: string;
  contentHash: string;
  /** The unified record's content hash the contact was written from (null: unknown). */
  personHash?: string | null;
  sourceSystem?: string;
}

export interface PlanInput {
  rules: RoutingRules;
  /** Systems that were read, each with its people (all of them: sources are read whole). */
  people: ReadonlyMap<string, readonly SourcePerson[]>;
  sourceKinds: ReadonlyMap<string, string>;
  targets: readonly ContactTarget[];
  existingContacts: ReadonlyMap<string, readonly ExistingContact[]>;
  storedUsers: ReadonlyMap<string, StoredUserLite>;
  storedEntries: ReadonlyMap<string, StoredEntryLite>;
  storedContacts: ReadonlyMap<string, StoredContactLite>;
  /** The unified directory, when the caller has computed it already (unifyInput). */
  unified?: UnifyResult;
  /**
   * A scoped run (scoped.ts) plans only part of the directory: people,
   * storedUsers and existingContacts hold the scope alone, and these are the
   * whole directory's counts (deletion guard, diff.sources).
   */
  totals?: {
    /** Per system: people read. */
    people: Record<string, number>;
    /** Per system: our contacts found. */
    contacts: Record<string, number>;
    /** Per home system: stored users. */
    homes: Record<string, number>;
  };
}

export interface ContactWrite { system: string; dn: string; contact: DesiredContact }

export interface Plan {
  diff: SyncDiff;
  unified: UnifiedPerson[];
  userUpserts: UnifiedPerson[];
  userDeletes: string[];
  entryUpserts: SourcePerson[];
  entryDeletes: StoredEntryLite[];
  contactAdds: ContactWrite[];
  contactChanges: (ContactWrite & { changes: ContactChange[] })[];
  contactDeletes: ExistingContact[];
  /** Store rows for contacts that are right in the directory but missing or stale in the store (joins). */
  contactRows: ContactWrite[];
  conflicts: Conflict[];
  /** Guard input: per system, our contacts now and the store's people now. */
  counts: { contacts: Record<string, number>; people: Record<string, number> };
}

export const entryKey = (system: string, sourceId: string): string => `${system}\u0000${sourceId}`;
export const contactKey = (system: string, address: string): string => `${system}\u0000${address}`;

/**
 * A store map keyed by entryKey/contactKey, indexed per system and then by the
 * second part: a lookup per person costs no concatenated key (100,000 people,
 * several lookups each, were seconds of a run). Built once per map.
 */
const nestedCache = new WeakMap<object, Map<string, Map<string, unknown>>>();

export function bySystem<T extends { system: string }>(rows: ReadonlyMap<string, T>, second: (row: T) => string): Map<string, Map<string, T>> {
  let index = nestedCache.get(rows) as Map<string, Map<string, T>> | undefined;
  if (!index) {
    index = new Map();
    for (const row of rows.values()) {
      let inner = index.get(row.system);
      if (!inner) { inner = new Map(); index.set(row.system, inner); }
      inner.set(second(row), row);
    }
    nestedCache.set(rows, index as Map<string, Map<string, unknown>>);
  }
  return index;
}

const entriesBySystem = (rows: ReadonlyMap<string, StoredEntryLite>) => bySystem(rows, (e) => e.sourceId);
const contactsBySystem = (rows: ReadonlyMap<string, StoredContactLite>) => bySystem(rows, (c) => c.address);

function describeUserChange(old: StoredUserLite, p: UnifiedPerson): string {
  const what: string[] = [];
  if (old.displayName !== p.entry.displayName) what.push(`displayName "${old.displayName ?? ''}" -> "${p.entry.displayName ?? ''}"`);
  const oldAliases = [...old.aliases].sort().join(' ');
  if (oldAliases !== p.aliases.join(' ')) what.push(`aliases [${oldAliases}] -> [${p.aliases.join(' ')}]`);
  if (old.homeSystem !== p.home.system) what.push(`home ${old.homeSystem} -> ${p.home.system}`);
  if (old.sourceId !== p.entry.sourceId || old.sourceSystem !== p.entry.system) {
    what.push(`source ${old.sourceSystem ?? '-'}:${old.sourceId ?? '-'} -> ${p.entry.system}:${p.entry.sourceId}`);
  }
  return what.length ? what.join('; ') : 'attributes';
}

function planPeople(input: PlanInput, unified: UnifiedPerson[], plan: Plan): void {
  const seen = new Set<string>();
  for (const p of unified) {
    seen.add(p.address);
    const old = input.storedUsers.get(p.address);
    if (!old) {
      plan.userUpserts.push(p);
      plan.diff.people.add.push({ system: p.home.system, address: p.address, ...(p.entry.dn ? { dn: p.entry.dn } : {}) });
    } else if (old.contentHash !== p.contentHash) {
      plan.userUpserts.push(p);
      plan.diff.people.change.push({ system: p.home.system, address: p.address, detail: describeUserChange(old, p) });
    }
  }
  // Only people the directory brought in are the directory's to remove.
  for (const u of input.storedUsers.values()) {
    if (seen.has(u.address) || u.sourceSystem === null || !input.people.has(u.sourceSystem)) continue;
    plan.userDeletes.push(u.address);
    plan.diff.people.delete.push({ system: u.homeSystem, address: u.address });
  }
  const stored = entriesBySystem(input.storedEntries);
  const current = new Map<string, Set<string>>();
  for (const list of input.people.values()) {
    for (const e of list) {
      let ids = current.get(e.system);
      if (!ids) { ids = new Set(); current.set(e.system, ids); }
      ids.add(e.sourceId);
      const old = stored.get(e.system)?.get(e.sourceId);
      // A new change mark with the same content is stored too (no directory write), or
      // the next incremental run would read the entry again, and again.
      if (old?.contentHash !== e.contentHash || (old.changeMark !== undefined && old.changeMark !== (e.changeMark ?? null))) plan.entryUpserts.push(e);
    }
  }
  for (const e of input.storedEntries.values()) {
    if (input.people.has(e.system) && current.get(e.system)?.has(e.sourceId) !== true) plan.entryDeletes.push(e);
  }
}

/** Whether system t gets a contact for p. */
const wantsContact = (p: UnifiedPerson, t: ContactTarget): boolean => p.home.system !== t.system && !p.claimants.includes(t.system);

/**
 * A contact known only by name (a names-only listing matched with the store's
 * row) is kept unread when its row was written from the person's current
 * unified record and no hand-made object claims the address there: the
 * contact would be made the same way again. Anything else is read and compared.
 */
class TrustIndex {
  private readonly trusted = new Map<string, ExistingContact>();
  private readonly foreign = new Set<string>();
  private readonly rows: ReadonlyMap<string, StoredContactLite>;

  constructor(t: ContactTarget, existing: readonly ExistingContact[], rows: PlanInput['storedContacts']) {
    this.rows = contactsBySystem(rows).get(t.system) ?? new Map();
    for (const e of existing) {
      if (e.trusted && e.address) this.trusted.set(e.address, e);
      else if (!e.ours && e.address) this.foreign.add(e.address);
    }
  }

  /** The trusted contact for p: `keep` when it needs no reading, else it must be read before planning. */
  check(p: UnifiedPerson): { contact: ExistingContact; keep: boolean } | null {
    const contact = this.trusted.get(p.address);
    if (!contact) return null;
    const row = this.rows.get(p.address);
    return { contact, keep: row?.personHash === p.contentHash && !this.foreign.has(p.address) };
  }
}

/** The unified directory of a plan input: unify the people of every source. */
export function unifyInput(input: Pick<PlanInput, 'people' | 'rules' | 'storedUsers'>): UnifyResult {
  const all = [...input.people.values()].flat();
  const cutOver = new Set([...input.storedUsers.values()].filter((u) => u.migrationState === 'cutover').map((u) => u.address));
  return unify(all, input.rules, cutOver);
}

/**
 * A trusted contact whose person changed, known without reading it: when the
 * store's row says the contact holds what the person's stored record (before
 * this run) makes, and it is named by our own RDN, its managed values are
 * exactly that contact's. The caller reads whole the ones this cannot vouch for.
 */
export function knownContact(c: ExistingContact, t: ContactTarget, u: StoredUserLite | undefined, row: StoredContactLite | undefined): ExistingContact | null {
  const attributes = u?.attributes;
  if (!u || !row || !attributes || !c.address) return null;
  const before = desiredContact({
    address: u.address, home: { system: u.homeSystem, reason: '' }, claimants: [], aliases: u.aliases, contentHash: '',
    entry: { system: u.sourceSystem ?? '', sourceId: u.sourceId ?? '', address: u.address, aliases: u.aliases, displayName: u.displayName, attributes, origins: {}, contentHash: '' },
  }, t);
  if (before.contentHash !== row.contentHash) return null;
  const named = c.dn.length > before.rdn.length && c.dn[before.rdn.length] === ',' && c.dn.slice(0, before.rdn.length).toLowerCase() === before.rdn.toLowerCase();
  if (!named) return null;
  return { system: c.system, dn: c.dn, address: c.address, ours: true, markerSource: c.markerSource, values: comparable(before.attributes) };
}

/** The trusted contacts the plan would compare: read these whole and put them in existingContacts first. */
export function contactsToVerify(input: Pick<PlanInput, 'targets' | 'existingContacts' | 'storedContacts'>, unified: UnifyResult): ExistingContact[] {
  const out: ExistingContact[] = [];
  for (const t of input.targets) {
    const existing = input.existingContacts.get(t.system) ?? [];
    if (!existing.some((e) => e.trusted)) continue;
    const index = new TrustIndex(t, existing, input.storedContacts);
    for (const p of unified.people) {
      if (!wantsContact(p, t)) continue;
      const c = index.check(p);
      if (c && !c.keep) out.push(c.contact);
    }
  }
  return out;
}

function planAllContacts(input: PlanInput, unified: UnifiedPerson[], plan: Plan): void {
  for (const t of input.targets) {
    const existing = input.existingContacts.get(t.system) ?? [];
    const index = new TrustIndex(t, existing, input.storedContacts);
    const kept = new Set<ExistingContact>();
    const desired: DesiredContact[] = [];
    for (const p of unified) {
      if (!wantsContact(p, t)) continue;
      const c = index.check(p);
      if (c?.keep) kept.add(c.contact);
      else desired.push(desiredContact(p, t));
    }
    plan.counts.contacts[t.system] = existing.filter((e) => e.ours).length;
    const cp = planContacts(t, desired, kept.size > 0 ? existing.filter((e) => !kept.has(e)) : existing);
    const item = (c: DesiredContact, dn: string, detail?: string): ItemChange => ({ system: t.system, address: c.address, dn, ...(detail ? { detail } : {}) });
    for (const a of cp.add) {
      plan.contactAdds.push({ system: t.system, dn: a.dn, contact: a.contact });
      plan.diff.contacts.add.push(item(a.contact, a.dn, `for ${a.contact.sourceSystem}`));
    }
    for (const c of cp.change) {
      plan.contactChanges.push({ system: t.system, dn: c.dn, contact: c.contact, changes: c.changes });
      plan.diff.contacts.change.push(item(c.contact, c.dn, c.changes.map((x) => x.attribute).join(', ')));
    }
    const rows = contactsBySystem(input.storedContacts).get(t.system);
    for (const k of cp.keep) {
      const row = rows?.get(k.contact.address);
      if (!row || row.contentHash !== k.contact.contentHash || row.dn !== k.dn || row.personHash !== k.contact.personHash) {
        plan.contactRows.push({ system: t.system, dn: k.dn, contact: k.contact });
      }
    }
    for (const d of cp.delete) {
      plan.contactDeletes.push(d);
      plan.diff.contacts.delete.push({ system: t.system, address: d.address ?? '', dn: d.dn });
    }
    plan.conflicts.push(...cp.conflicts);
  }
}

export function computePlan(input: PlanInput): Plan {
  const { people: unified, conflicts } = input.unified ?? unifyInput(input);
  const plan: Plan = {
    diff: {
      people: { add: [], change: [], delete: [] },
      contacts: { add: [], change: [], delete: [] },
      conflicts: [],
      sources: {},
    },
    unified, userUpserts: [], userDeletes: [], entryUpserts: [], entryDeletes: [],
    contactAdds: [], contactChanges: [], contactDeletes: [], contactRows: [], conflicts: [...conflicts],
    counts: { contacts: {}, people: {} },
  };
  const totals = input.totals;
  if (totals) plan.counts.people = { ...totals.homes };
  else for (const u of input.storedUsers.values()) plan.counts.people[u.homeSystem] = (plan.counts.people[u.homeSystem] ?? 0) + 1;
  planPeople(input, unified, plan);
  planAllContacts(input, unified, plan);
  if (totals) for (const t of input.targets) plan.counts.contacts[t.system] = totals.contacts[t.system] ?? 0;
  plan.diff.conflicts = plan.conflicts;
  for (const [system, list] of input.people) {
    plan.diff.sources[system] = {
      people: totals?.people[system] ?? list.length,
      contacts: totals?.contacts[system] ?? (input.existingContacts.get(system) ?? []).filter((e) => e.ours).length,
      kind: input.sourceKinds.get(system) ?? 'ldap',
    };
  }
  return plan;
}

/** Per system, how many people and contacts the plan deletes: the guard's input. */
export function deleteCounts(plan: Plan, storedUsers: ReadonlyMap<string, StoredUserLite>) {
  const contacts: Record<string, { existing: number; deletes: number }> = {};
  for (const [s, n] of Object.entries(plan.counts.contacts)) contacts[s] = { existing: n, deletes: 0 };
  for (const d of plan.contactDeletes) contacts[d.system]!.deletes++;
  const people: Record<string, { existing: number; deletes: number }> = {};
  for (const [s, n] of Object.entries(plan.counts.people)) people[s] = { existing: n, deletes: 0 };
  for (const a of plan.userDeletes) people[storedUsers.get(a)!.homeSystem]!.deletes++;
  return { contacts, people };
}
