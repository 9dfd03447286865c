/**
 * One sync run's plan, computed from what the sources say, what the systems'
 * contact containers hold and what the store remembers. Pure: the run applies
 * it (sync.ts) or, with --dry-run, only prints its diff.
 */
import { planContacts, desiredContact, type ContactChange, type ContactTarget } from './contacts.js';
import { unify, type RoutingRules } from './unify.js';
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
}

export interface StoredEntryLite {
  system: string;
  sourceId: string;
  contentHash: string;
}

export interface StoredContactLite {
  system: string;
  address: string;
  dn: string;
  contentHash: string;
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
  const current = new Set<string>();
  for (const list of input.people.values()) {
    for (const e of list) {
      const k = entryKey(e.system, e.sourceId);
      current.add(k);
      if (input.storedEntries.get(k)?.contentHash !== e.contentHash) plan.entryUpserts.push(e);
    }
  }
  for (const [k, e] of input.storedEntries) {
    if (!current.has(k) && input.people.has(e.system)) plan.entryDeletes.push(e);
  }
}

function planAllContacts(input: PlanInput, unified: UnifiedPerson[], plan: Plan): void {
  for (const t of input.targets) {
    const desired = unified
      .filter((p) => p.home.system !== t.system && !p.claimants.includes(t.system))
      .map((p) => desiredContact(p, t));
    const existing = input.existingContacts.get(t.system) ?? [];
    plan.counts.contacts[t.system] = existing.filter((e) => e.ours).length;
    const cp = planContacts(t, desired, existing);
    const item = (c: DesiredContact, dn: string, detail?: string): ItemChange => ({ system: t.system, address: c.address, dn, ...(detail ? { detail } : {}) });
    for (const a of cp.add) {
      plan.contactAdds.push({ system: t.system, dn: a.dn, contact: a.contact });
      plan.diff.contacts.add.push(item(a.contact, a.dn, `for ${a.contact.sourceSystem}`));
    }
    for (const c of cp.change) {
      plan.contactChanges.push({ system: t.system, dn: c.dn, contact: c.contact, changes: c.changes });
      plan.diff.contacts.change.push(item(c.contact, c.dn, c.changes.map((x) => x.attribute).join(', ')));
    }
    for (const k of cp.keep) {
      const row = input.storedContacts.get(contactKey(t.system, k.contact.address));
      if (!row || row.contentHash !== k.contact.contentHash || row.dn !== k.dn) plan.contactRows.push({ system: t.system, dn: k.dn, contact: k.contact });
    }
    for (const d of cp.delete) {
      plan.contactDeletes.push(d);
      plan.diff.contacts.delete.push({ system: t.system, address: d.address ?? '', dn: d.dn });
    }
    plan.conflicts.push(...cp.conflicts);
  }
}

export function computePlan(input: PlanInput): Plan {
  const all = [...input.people.values()].flat();
  const cutOver = new Set([...input.storedUsers.values()].filter((u) => u.migrationState === 'cutover').map((u) => u.address));
  const { people: unified, conflicts } = unify(all, input.rules, cutOver);
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
  for (const u of input.storedUsers.values()) plan.counts.people[u.homeSystem] = (plan.counts.people[u.homeSystem] ?? 0) + 1;
  planPeople(input, unified, plan);
  planAllContacts(input, unified, plan);
  plan.diff.conflicts = plan.conflicts;
  for (const [system, list] of input.people) {
    plan.diff.sources[system] = {
      people: list.length, contacts: (input.existingContacts.get(system) ?? []).filter((e) => e.ours).length,
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
