/**
 * Attribute mapping: a raw directory entry (LDAP search result or LDIF record)
 * becomes a SourcePerson. One default table serves inetOrgPerson, Active
 * Directory and Domino; each of our fields names the directory attributes it is
 * read from, first one present wins. `systems.*.ldap.attributes` overrides a
 * field ("our name -> the directory's"; a comma-separated list keeps fallbacks).
 */
import { createHash } from 'node:crypto';
import { normalizeAddress } from '../core/index.js';
import type { SourcePerson } from './types.js';

export type Flavor = 'openldap' | 'ad' | 'domino';

/** The fields we read; `attributes` of a person holds the ones in ATTRIBUTE_FIELDS. */
export const ATTRIBUTE_FIELDS = ['givenName', 'sn', 'telephoneNumber', 'title', 'department', 'company'] as const;

const COMMON: Readonly<Record<string, string>> = {
  mail: 'mail',
  // AD (and Exchange-fed directories): "SMTP:" marks the primary, "smtp:" the others.
  proxyAddresses: 'proxyAddresses',
  // mailAlternateAddress (Sun/Oracle, Zimbra, many schemas), mailLocalAddress (misc.schema, sendmail).
  aliases: 'mailAlternateAddress,mailLocalAddress',
  displayName: 'displayName,cn',
  givenName: 'givenName',
  sn: 'sn',
  telephoneNumber: 'telephoneNumber',
  title: 'title',
  department: 'department,departmentNumber',
  company: 'company,o',
  // The change mark an incremental run compares per entry. OpenLDAP's entryCSN
  // (microseconds plus a counter) tells two changes within one second apart,
  // which modifyTimestamp (whole seconds) cannot; most other servers have only
  // modifyTimestamp; AD's uSNChanged as a fallback (LDIF exports from AD).
  changeMark: 'entryCSN,modifyTimestamp,uSNChanged',
};

const BY_FLAVOR: Readonly<Record<Flavor, Readonly<Record<string, string>>>> = {
  openldap: COMMON,
  // uSNChanged grows on every change of the object on that DC (MS-ADTS 3.1.1.1.9).
  ad: { ...COMMON, changeMark: 'uSNChanged' },
  domino: COMMON,
};

export type AttributeMap = Readonly<Record<string, readonly string[]>>;

/** The effective mapping: our field -> directory attributes to try, in order. */
export function attributeMap(flavor: Flavor = 'openldap', overrides: Readonly<Record<string, string>> = {}): AttributeMap {
  const merged = { ...BY_FLAVOR[flavor], ...overrides };
  const out: Record<string, string[]> = {};
  for (const [field, list] of Object.entries(merged)) {
    out[field] = list.split(',').map((a) => a.trim()).filter(Boolean);
  }
  return out;
}

/** Every directory attribute the map reads, for the search request. */
export function requestedAttributes(map: AttributeMap): string[] {
  return [...new Set(Object.values(map).flat())];
}

/** A raw entry: DN and attribute values, attribute names in any case. */
export interface RawEntry {
  dn: string;
  attributes: Record<string, string[]>;
}

export function lowerKeys(attrs: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(attrs)) {
    const key = k.toLowerCase();
    const have = out[key];
    if (have) have.push(...v);
    else out[key] = [...v];
  }
  return out;
}

function firstOf(attrs: Record<string, string[]>, names: readonly string[] | undefined): { value: string; from: string } | null {
  for (const n of names ?? []) {
    const v = attrs[n.toLowerCase()]?.find((x) => x.trim() !== '');
    if (v !== undefined) return { value: v.trim(), from: n };
  }
  return null;
}

/** Lower-cased address or null (core's one definition). */
export const normalizeAddr = normalizeAddress;

/** proxyAddresses values: "SMTP:" primary, "smtp:" secondary; X500:, SIP: and others are not mail addresses. */
export function parseProxyAddresses(values: readonly string[]): { primary: string | null; others: string[] } {
  let primary: string | null = null;
  const others: string[] = [];
  for (const v of values) {
    const m = /^smtp:(.+)$/i.exec(v.trim());
    const addr = m ? normalizeAddr(m[1]!) : null;
    if (!addr) continue;
    if (v.startsWith('SMTP:') && primary === null) primary = addr;
    else others.push(addr);
  }
  return { primary, others };
}

export function hashPerson(p: Pick<SourcePerson, 'address' | 'aliases' | 'displayName' | 'attributes'>): string {
  const attrs = Object.keys(p.attributes).sort().map((k) => [k, p.attributes[k]]);
  return createHash('sha256').update(JSON.stringify([p.address, p.aliases, p.displayName, attrs])).digest('hex').slice(0, 32);
}

/** The entry's change mark (attributes with lower-case names), as mapEntry records it. */
export function changeMarkOf(lowerAttrs: Record<string, string[]>, map: AttributeMap): { value: string; from: string } | null {
  return firstOf(lowerAttrs, map.changeMark);
}

export type MapResult = { ok: true; person: SourcePerson } | { ok: false; dn: string; reason: string };

/** Maps one raw entry; an entry without a usable primary address is skipped with a reason. */
export function mapEntry(system: string, sourceId: string, entry: RawEntry, map: AttributeMap): MapResult {
  const attrs = lowerKeys(entry.attributes);
  const origins: Record<string, string> = {};
  const proxyName = map.proxyAddresses?.find((n) => attrs[n.toLowerCase()]) ?? null;
  const proxy = parseProxyAddresses(proxyName ? attrs[proxyName.toLowerCase()]! : []);
  const mail = firstOf(attrs, map.mail);
  let address: string | null = null;
  if (proxy.primary) {
    address = proxy.primary;
    origins.address = `${proxyName} (SMTP:)`;
  } else if (mail && normalizeAddr(mail.value)) {
    address = normalizeAddr(mail.value);
    origins.address = mail.from;
  }
  if (!address) return { ok: false, dn: entry.dn, reason: mail ? `mail "${mail.value}" is not an address` : 'no mail address' };

  const aliasSet = new Set<string>(proxy.others.filter((a) => a !== address));
  const aliasFrom: string[] = aliasSet.size > 0 ? [`${proxyName} (smtp:)`] : [];
  for (const n of map.aliases ?? []) {
    const found = (attrs[n.toLowerCase()] ?? []).map(normalizeAddr).filter((a): a is string => a !== null && a !== address);
    for (const a of found) aliasSet.add(a);
    // Only attributes that gave an alias are named (mailLocalAddress also holds the primary address).
    if (found.length > 0) aliasFrom.push(n);
  }
  // mail differing from the SMTP: primary is an address too (AD keeps them equal, but not always).
  const mailAddr = mail ? normalizeAddr(mail.value) : null;
  if (mailAddr && mailAddr !== address) { aliasSet.add(mailAddr); aliasFrom.push(mail!.from); }
  const aliases = [...aliasSet].sort();
  if (aliasFrom.length > 0) origins.aliases = aliasFrom.join(', ');

  const dn = firstOf(attrs, map.displayName);
  if (dn) origins.displayName = dn.from;
  const attributes: Record<string, string> = {};
  for (const field of ATTRIBUTE_FIELDS) {
    const v = firstOf(attrs, map[field]);
    if (v) { attributes[field] = v.value; origins[field] = v.from; }
  }
  const mark = changeMarkOf(attrs, map);
  const base = { address, aliases, displayName: dn?.value ?? null, attributes };
  return {
    ok: true,
    person: {
      system, sourceId, dn: entry.dn, ...base, origins,
      ...(mark ? { changeMark: mark.value } : {}),
      contentHash: hashPerson(base),
    },
  };
}
