/**
 * Contacts mailbridge provisions: what they look like in each directory
 * flavor, how ours are recognised, and the diff against what a system holds.
 * Pure.
 *
 * Ownership: we cannot assume schema extensions, so the marker is a standard
 * attribute, `description: mailbridge-contact source=<system>`, and the object
 * lives in the system's contactsDn. Only objects with both are ever modified or
 * deleted; anything else holding the address is a hand-made object and a
 * reported conflict.
 */
import { createHash } from 'node:crypto';
import { escapeDnValue, parseDn } from '../protocol/ldap/index.js';
import type { Flavor } from './mapping.js';
import type { Conflict, DesiredContact, ExistingContact, UnifiedPerson } from './types.js';

export const MARKER_PREFIX = 'mailbridge-contact';
export const markerFor = (source: string): string => `${MARKER_PREFIX} source=${source}`;

/** Filter fragment matching our contacts (RFC 4515 substring; the prefix has no metacharacters). */
export const MARKER_FILTER = `(description=${MARKER_PREFIX}*)`;

/** The attributes mailbridge maintains on a contact; others on the object are left alone. */
export const MANAGED_ATTRIBUTES = [
  'mail', 'cn', 'sn', 'displayName', 'givenName', 'telephoneNumber', 'title', 'departmentNumber', 'o',
  'department', 'company', 'targetAddress', 'description',
] as const;

/** Parses our marker; null when the value is not one. */
export function parseMarker(values: readonly string[]): { source: string | null } | null {
  for (const v of values) {
    if (v === MARKER_PREFIX) return { source: null };
    const m = /^mailbridge-contact source=(\S+)$/.exec(v);
    if (m) return { source: m[1]! };
  }
  return null;
}

export interface ContactTarget {
  system: string;
  flavor: Flavor;
  contactsDn: string;
}

/** The contact for `p` in `target`: inetOrgPerson, or an AD `contact` with targetAddress. */
export function desiredContact(p: UnifiedPerson, target: ContactTarget): DesiredContact {
  const e = p.entry;
  const local = p.address.slice(0, p.address.lastIndexOf('@'));
  const name = e.displayName ?? local;
  const a = e.attributes;
  const attrs: Record<string, string[]> = { mail: [p.address], cn: [name], description: [markerFor(p.home.system)] };
  const put = (k: string, v: string | undefined) => { if (v !== undefined && v !== '') attrs[k] = [v]; };
  put('displayName', e.displayName ?? undefined);
  put('givenName', a.givenName);
  put('telephoneNumber', a.telephoneNumber);
  put('title', a.title);
  let rdn: string;
  if (target.flavor === 'ad') {
    attrs.objectClass = ['top', 'person', 'organizationalPerson', 'contact'];
    // targetAddress makes Exchange route to the shared address rather than a local mailbox.
    attrs.targetAddress = [`SMTP:${p.address}`];
    put('sn', a.sn);
    put('department', a.department);
    put('company', a.company);
    // AD's cn is single-valued and is the RDN: the address keeps it unique in the
    // container; the name shows through displayName.
    attrs.cn = [p.address];
    attrs.displayName = [name];
    rdn = `cn=${escapeDnValue(p.address)}`;
  } else {
    attrs.objectClass = ['top', 'person', 'organizationalPerson', 'inetOrgPerson'];
    attrs.sn = [a.sn ?? name]; // sn is required by `person` (RFC 4519)
    put('departmentNumber', a.department);
    put('o', a.company);
    // The address is the identity and unique in the container; names are not.
    rdn = `mail=${escapeDnValue(p.address)}`;
  }
  return {
    system: target.system, address: p.address, sourceSystem: p.home.system, rdn, attributes: attrs, contentHash: hashContact(attrs), personHash: p.contentHash,
  };
}

export function hashContact(attrs: Record<string, string[]>): string {
  const keys = Object.keys(attrs).sort();
  return createHash('sha256').update(JSON.stringify(keys.map((k) => [k, [...attrs[k]!].sort()]))).digest('hex').slice(0, 32);
}

const MANAGED_LOWER: ReadonlySet<string> = new Set(MANAGED_ATTRIBUTES.map((m) => m.toLowerCase()));

/** Normalized values for comparison: lower-case attribute names, sorted values joined. */
export function comparable(attrs: Record<string, readonly string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  const managed = MANAGED_LOWER;
  for (const [k, v] of Object.entries(attrs)) {
    const key = k.toLowerCase();
    if (managed.has(key) && v.length > 0) out[key] = [...v].sort().join('\n');
  }
  return out;
}

export interface ContactChange {
  attribute: string;
  values: string[];
}

/** The modify operations that turn `existing` into `desired` (replace; [] removes). */
export function contactChanges(existing: ExistingContact, desired: DesiredContact): ContactChange[] {
  // A contact named by our own RDN already carries its naming value (`mail` or AD's
  // `cn` is the address): skip parsing its DN, which for 100,000 contacts is most
  // of an incremental run's planning. An escaped RDN value has no bare `,` or `+`,
  // so the prefix match pins the whole first RDN.
  const ownRdn = existing.dn.length > desired.rdn.length && existing.dn[desired.rdn.length] === ','
    && existing.dn.slice(0, desired.rdn.length).toLowerCase() === desired.rdn.toLowerCase();
  const attrs = ownRdn ? desired.attributes : withRdnValues(existing.dn, desired.attributes);
  const want = comparable(attrs);
  const names = new Map<string, string>();
  for (const k of Object.keys(attrs)) names.set(k.toLowerCase(), k);
  const changes: ContactChange[] = [];
  for (const [k, v] of Object.entries(want)) {
    if (existing.values[k] !== v) changes.push({ attribute: names.get(k)!, values: attrs[names.get(k)!]! });
  }
  for (const k of Object.keys(existing.values).sort()) {
    if (!(k in want)) changes.push({ attribute: MANAGED_ATTRIBUTES.find((m) => m.toLowerCase() === k) ?? k, values: [] });
  }
  return changes;
}

/**
 * A joined contact (say, from an earlier install) may be named by another
 * attribute than ours (`cn=old name`): the naming value must stay (RFC 4511
 * section 4.6, notAllowedOnRDN), so it is kept next to the values we want.
 */
export function withRdnValues(dn: string, attrs: Record<string, string[]>): Record<string, string[]> {
  const rdns = parseDn(dn);
  if (!rdns || rdns.length === 0) return attrs;
  const out = { ...attrs };
  const first = [rdns[0]!];
  for (const r of rdns.slice(1)) { if (!r.multi) break; first.push(r); }
  for (const r of first) {
    const key = Object.keys(out).find((k) => k.toLowerCase() === r.attr.toLowerCase()) ?? r.attr;
    const values = out[key] ?? [];
    if (!values.some((v) => v.toLowerCase() === r.value.toLowerCase())) out[key] = [...values, r.value];
  }
  return out;
}

export interface ContactPlan {
  add: { contact: DesiredContact; dn: string }[];
  change: { contact: DesiredContact; dn: string; changes: ContactChange[] }[];
  /** Ours, already right: nothing to write (a join of an earlier install's contact lands here too). */
  keep: { contact: DesiredContact; dn: string }[];
  delete: ExistingContact[];
  conflicts: Conflict[];
}

/** Diff of one system's contacts: what we want there against what is there. */
export function planContacts(target: ContactTarget, desired: readonly DesiredContact[], existing: readonly ExistingContact[]): ContactPlan {
  const plan: ContactPlan = { add: [], change: [], keep: [], delete: [], conflicts: [] };
  const byAddress = new Map<string, ExistingContact[]>();
  for (const e of existing) if (e.address) byAddress.set(e.address, [...(byAddress.get(e.address) ?? []), e]);
  const used = new Set<ExistingContact>();
  for (const d of desired) {
    const found = byAddress.get(d.address) ?? [];
    const foreign = found.filter((e) => !e.ours);
    if (foreign.length > 0) {
      plan.conflicts.push({
        kind: 'foreign-object', address: d.address, systems: [target.system, d.sourceSystem], winner: d.sourceSystem, subject: target.system,
        detail: `${foreign.map((f) => f.dn).join('; ')} in ${target.system} has this address but was not made by mailbridge; left untouched, no contact provisioned`,
      });
      // Our own contact next to a hand-made one would make the address ambiguous there: keep ours untouched too.
      for (const e of found) used.add(e);
      continue;
    }
    const mine = found.find((e) => e.ours);
    if (!mine) { plan.add.push({ contact: d, dn: `${d.rdn},${target.contactsDn}` }); continue; }
    used.add(mine);
    const changes = contactChanges(mine, d);
    if (changes.length > 0) plan.change.push({ contact: d, dn: mine.dn, changes });
    else plan.keep.push({ contact: d, dn: mine.dn });
  }
  for (const e of existing) if (e.ours && !used.has(e)) plan.delete.push(e);
  return plan;
}
