/**
 * One system's directory over LDAP: StartTLS (or ldaps://), simple bind, people
 * read with the paged-results control (RFC 2696) so no server size limit cuts
 * the list short, and the contacts container read and written. Every failure
 * to reach or bind is a transient DIRECTORY_SOURCE_UNREACHABLE; a refused
 * write of one contact is a DIRECTORY_CONTACT_WRITE_FAILED for that contact.
 */
import { isIP } from 'node:net';
import { Attribute, Change, Client, NoSuchObjectError, type Entry } from 'ldapts';
import { MbError } from '../core/index.js';
import type { LdapEndpoint } from '../config/index.js';
import { normalizeDn } from '../protocol/ldap/index.js';
import { MANAGED_ATTRIBUTES, MARKER_FILTER, MARKER_PREFIX, comparable, hashContact, parseMarker, type ContactChange } from './contacts.js';
import { DirectoryErrors } from './errors.js';
import { changeMarkOf, lowerKeys, mapEntry, requestedAttributes, type AttributeMap, type RawEntry } from './mapping.js';
import type { ExistingContact, SourcePerson } from './types.js';

export const PAGE_SIZE = 500;

/**
 * Page size of the names-only listings (a DN and one mark per entry, a few
 * dozen bytes): fewer round trips for the 100,000-entry listing of an
 * incremental run. A server that caps the page size (AD's MaxPageSize,
 * slapd's size.pr) returns smaller pages, and paging goes on regardless.
 */
export const LIST_PAGE_SIZE = 2000;

/**
 * Reads of single entries (by DN) kept in flight on one connection (RFC 4511
 * section 4.1.1.1): an incremental run fetches its changed entries this way.
 */
export const READ_CONCURRENCY = 16;

/** Up to this many hand-made objects in a contacts container are read one by one after the listing; more, in one search. */
const FOREIGN_BY_DN = 200;

/** One entry of a names-only listing: its DN as spelled, normalized, and its change mark. */
export interface ListedEntry {
  dn: string;
  id: string;
  mark: string | null;
}

/** A skipped source entry (no usable address); the mark lets the next run skip it without reading it. */
export interface SkippedEntry {
  dn: string;
  reason: string;
  id?: string;
  mark?: string | null;
}

export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** resultCode 32 (noSuchObject): the entry went away between listing and reading. */
function isNoSuchObject(err: unknown): boolean {
  return err instanceof NoSuchObjectError;
}

export interface LdapOptions {
  insecure?: boolean;
  timeoutMs?: number;
}

function unreachable(system: string, what: string, err: unknown): MbError {
  return new MbError(DirectoryErrors.DIRECTORY_SOURCE_UNREACHABLE, `${system}: ${what}: ${(err as Error).message}`, {
    retry: 'transient', cause: err, details: { system },
  });
}

function toRaw(e: Entry): RawEntry {
  const attributes: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'dn') continue;
    const list = Array.isArray(v) ? v : [v];
    attributes[k] = list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
  }
  return { dn: e.dn, attributes };
}

const OWN_LOWER: ReadonlySet<string> = new Set([...MANAGED_ATTRIBUTES, 'objectClass'].map((a) => a.toLowerCase()));

/** The attributes of a contact that a desired contact sets (contacts.ts desiredContact), as the server spelled them. */
function ownAttributes(attrs: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(attrs)) if (OWN_LOWER.has(k.toLowerCase()) && v.length > 0) out[k] = v;
  return out;
}

/** RFC 4515: a filter given without its outer parentheses still composes. */
export function wrapFilter(filter: string): string {
  const f = filter.trim();
  return f.startsWith('(') ? f : `(${f})`;
}

/**
 * A DN of plain RDNs (`attr=value`, the value without any character RFC 4514
 * escapes, spaces or `+`) normalizes to its lower-case self: normalizeDn
 * would re-escape nothing. Most directories' DNs look like that, and parsing
 * 100,000 of them per read is seconds of CPU; anything else takes the parser.
 */
const PLAIN_DN = /^[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9.@_-]+(?:,[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9.@_-]+)*$/;

export function normalizeEntryDn(dn: string): string | null {
  return PLAIN_DN.test(dn) ? dn.toLowerCase() : normalizeDn(dn);
}

/** True when dn is at or below base (both normalized, RFC 4514). */
export function isUnder(dn: string, base: string): boolean {
  const d = normalizeDn(dn);
  const b = normalizeDn(base);
  return d !== null && b !== null && (d === b || d.endsWith(`,${b}`));
}

/** A test for "at or below one of these bases" on normalized DNs; the bases are normalized once. */
function excluder(bases: readonly string[]): (dn: string | null) => boolean {
  const norm = bases.map((b) => normalizeDn(b)).filter((b): b is string => b !== null);
  return (dn) => dn !== null && norm.some((b) => dn === b || dn.endsWith(`,${b}`));
}

/** The first of the mark attributes the entry has (names compared without case), trimmed. */
function markOf(e: Entry, markAttrs: readonly string[]): string | null {
  // The usual case first: the server spells the name as asked (no copy of the entry's keys).
  const first = markAttrs.length > 0 ? e[markAttrs[0]!] : undefined;
  if (first !== undefined) {
    const v = Array.isArray(first) ? first[0] : first;
    const text = Buffer.isBuffer(v) ? v.toString('utf8') : v === undefined ? '' : String(v);
    if (text.trim() !== '') return text.trim();
  }
  for (const want of markAttrs) {
    const w = want.toLowerCase();
    for (const [k, v] of Object.entries(e)) {
      if (k === 'dn' || k.toLowerCase() !== w) continue;
      const first = (Array.isArray(v) ? v : [v])[0];
      const text = Buffer.isBuffer(first) ? first.toString('utf8') : first === undefined ? '' : String(first);
      if (text.trim() !== '') return text.trim();
    }
  }
  return null;
}

export class LdapDirectory {
  private constructor(readonly system: string, readonly cfg: LdapEndpoint, private readonly client: Client) {}

  static async connect(system: string, cfg: LdapEndpoint, opts: LdapOptions = {}): Promise<LdapDirectory> {
    const host = new URL(cfg.url).hostname;
    const tlsOptions = { rejectUnauthorized: !opts.insecure, ...(isIP(host) === 0 && host ? { servername: host } : {}) };
    const secure = cfg.url.toLowerCase().startsWith('ldaps:');
    const timeout = opts.timeoutMs ?? 30_000;
    // ldapts treats any tlsOptions as "connect with TLS": only ldaps:// gets them here, StartTLS gets its own.
    const client = new Client({ url: cfg.url, timeout, connectTimeout: timeout, ...(secure ? { tlsOptions } : {}) });
    try {
      if (cfg.startTls) await client.startTLS(tlsOptions);
      await client.bind(cfg.bindDn ?? '', cfg.password?.reveal() ?? '');
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw unreachable(system, `cannot bind to ${cfg.url} as ${cfg.bindDn ?? 'anonymous'}`, err);
    }
    return new LdapDirectory(system, cfg, client);
  }

  /**
   * People under baseDn matching the filter, minus our own contacts (marker) and
   * anything under a contacts container (`excludeUnder`; in many layouts the
   * contacts OU sits below the people OU).
   */
  async readPeople(
    map: AttributeMap, excludeUnder: readonly string[], since?: string,
  ): Promise<{ people: SourcePerson[]; skipped: SkippedEntry[] }> {
    const people: SourcePerson[] = [];
    const skipped: SkippedEntry[] = [];
    try {
      // `since`: a read by change (delta.ts), the clause that asks for changed entries only.
      const filter = since === undefined ? this.peopleFilter() : `(&${this.peopleFilter()}${since})`;
      const pager = this.client.searchPaginated(this.cfg.baseDn, {
        scope: 'sub', filter, attributes: requestedAttributes(map), paged: { pageSize: PAGE_SIZE },
      });
      // DNs are parsed once per entry and the bases once per read: with 100,000
      // entries, parsing per comparison was the largest CPU cost of reading.
      const excluded = excluder(excludeUnder);
      for await (const page of pager) {
        for (const e of page.searchEntries) {
          const dn = normalizeEntryDn(e.dn);
          if (excluded(dn)) continue;
          this.mapOne(dn, e, map, people, skipped);
        }
      }
    } catch (err) {
      throw unreachable(this.system, `reading people under ${this.cfg.baseDn}`, err);
    }
    return { people, skipped };
  }

  private peopleFilter(): string {
    return `(&${wrapFilter(this.cfg.filter)}(!${MARKER_FILTER}))`;
  }

  private mapOne(id: string | null, e: Entry, map: AttributeMap, people: SourcePerson[], skipped: SkippedEntry[]): void {
    const raw = toRaw(e);
    const r = mapEntry(this.system, id ?? e.dn, raw, map);
    if (r.ok) people.push(r.person);
    else skipped.push({ dn: r.dn, reason: r.reason, id: id ?? e.dn, mark: changeMarkOf(lowerKeys(raw.attributes), map)?.value ?? null });
  }

  /**
   * The people an incremental run compares: DN and change mark only, the same
   * filter and exclusions as readPeople. Finds additions, deletions, renames
   * and moves (a new DN) and, by the mark, changed entries. `only` narrows
   * the mark attributes asked for (see incremental.ts markAttributes).
   */
  async listPeople(map: AttributeMap, excludeUnder: readonly string[], only?: readonly string[]): Promise<ListedEntry[]> {
    const markAttrs = only ?? map.changeMark ?? [];
    const out: ListedEntry[] = [];
    try {
      const pager = this.client.searchPaginated(this.cfg.baseDn, {
        // RFC 4511 section 4.5.1.8: "1.1" asks for no attributes at all.
        scope: 'sub', filter: this.peopleFilter(), attributes: markAttrs.length > 0 ? [...markAttrs] : ['1.1'], paged: { pageSize: LIST_PAGE_SIZE },
      });
      const excluded = excluder(excludeUnder);
      for await (const page of pager) {
        for (const e of page.searchEntries) {
          const id = normalizeEntryDn(e.dn);
          if (excluded(id)) continue;
          out.push({ dn: e.dn, id: id ?? e.dn, mark: markOf(e, markAttrs) });
        }
      }
    } catch (err) {
      throw unreachable(this.system, `listing people under ${this.cfg.baseDn}`, err);
    }
    return out;
  }

  /** Reads the given entries (base scope, same filter); one that has gone away since the listing is left out. */
  async readPeopleByDn(entries: readonly ListedEntry[], map: AttributeMap): Promise<{ people: SourcePerson[]; skipped: SkippedEntry[] }> {
    const people: SourcePerson[] = [];
    const skipped: SkippedEntry[] = [];
    const attributes = requestedAttributes(map);
    const filter = this.peopleFilter();
    await eachLimited(entries, READ_CONCURRENCY, async (l) => {
      try {
        const r = await this.client.search(l.dn, { scope: 'base', filter, attributes });
        for (const e of r.searchEntries) this.mapOne(l.id, e, map, people, skipped);
      } catch (err) {
        if (!isNoSuchObject(err)) throw unreachable(this.system, `reading ${l.dn}`, err);
      }
    });
    return { people, skipped };
  }

  /** Everything in the contacts container with a mail or our marker. */
  async readContacts(): Promise<ExistingContact[]> {
    return (await this.searchContacts()).contacts;
  }

  /**
   * The contacts container's objects changed since a mark (delta.ts: `since`
   * is the filter clause, `mark` the attribute), read whole, with their marks.
   */
  readContactsChanged(since: string, mark: string): Promise<{ contacts: ExistingContact[]; marks: string[] }> {
    return this.searchContacts(since, mark);
  }

  private async searchContacts(since?: string, mark?: string): Promise<{ contacts: ExistingContact[]; marks: string[] }> {
    const dn = this.cfg.contactsDn;
    const contacts: ExistingContact[] = [];
    const marks: string[] = [];
    if (!dn) return { contacts, marks };
    const any = `(|(mail=*)${MARKER_FILTER})`;
    try {
      const pager = this.client.searchPaginated(dn, {
        scope: 'sub', filter: since === undefined ? any : `(&${any}${since})`,
        attributes: mark === undefined ? [...MANAGED_ATTRIBUTES] : [...MANAGED_ATTRIBUTES, 'objectClass', mark], paged: { pageSize: PAGE_SIZE },
      });
      for await (const page of pager) {
        for (const e of page.searchEntries) {
          if (mark === undefined) { contacts.push(this.toContact(e)); continue; }
          const c = this.toContact(e);
          // The hash the store keeps for a contact we wrote (contacts.ts hashContact), over what was read.
          c.hash = hashContact(ownAttributes(toRaw(e).attributes));
          contacts.push(c);
          const m = markOf(e, [mark]);
          if (m !== null) marks.push(m);
        }
      }
    } catch (err) {
      throw unreachable(this.system, `reading contacts under ${dn}`, err);
    }
    return { contacts, marks };
  }

  private toContact(e: Entry): ExistingContact {
    const raw = toRaw(e).attributes;
    const lower: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(raw)) lower[k.toLowerCase()] = v;
    const marker = parseMarker(lower.description ?? []);
    const mail = lower.mail?.[0]?.trim().toLowerCase() ?? null;
    return { system: this.system, dn: e.dn, address: mail, ours: marker !== null, markerSource: marker?.source ?? null, values: comparable(raw) };
  }

  /**
   * What an incremental run checks in the contacts container: the names of our
   * contacts (marker; no attributes) and, read whole, the objects with a mail
   * and without our marker (hand-made ones: conflicts, never touched). Together
   * they are readContacts' set.
   */
  async listContacts(): Promise<{ ours: string[]; foreign: ExistingContact[] }> {
    const dn = this.cfg.contactsDn;
    if (!dn) return { ours: [], foreign: [] };
    const ours: string[] = [];
    const others: string[] = [];
    const prefix = MARKER_PREFIX.toLowerCase();
    try {
      // One pass over the container (the server evaluates each object once): our marker
      // or a mail, with description alone. Marked ones are ours (the same test as the
      // marker filter: description starts with the prefix, case-insensitively); the rest
      // have a mail and no marker, and are read whole below.
      const filter = `(|${MARKER_FILTER}(mail=*))`;
      for await (const page of this.client.searchPaginated(dn, { scope: 'sub', filter, attributes: ['description'], paged: { pageSize: LIST_PAGE_SIZE } })) {
        for (const e of page.searchEntries) {
          const d = e.description;
          const values = d === undefined ? [] : (Array.isArray(d) ? d : [d]).map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
          // Substring matching ignores case and leading/repeated spaces (caseIgnoreSubstringsMatch).
          if (values.some((v) => v.trim().replace(/ +/g, ' ').toLowerCase().startsWith(prefix))) ours.push(e.dn);
          else others.push(e.dn);
        }
      }
    } catch (err) {
      throw unreachable(this.system, `listing contacts under ${dn}`, err);
    }
    if (others.length <= FOREIGN_BY_DN) return { ours, foreign: await this.readContactsByDn(others) };
    const foreign: ExistingContact[] = [];
    try {
      const filter = `(&(mail=*)(!${MARKER_FILTER}))`;
      for await (const page of this.client.searchPaginated(dn, { scope: 'sub', filter, attributes: [...MANAGED_ATTRIBUTES], paged: { pageSize: PAGE_SIZE } })) {
        for (const e of page.searchEntries) foreign.push(this.toContact(e));
      }
    } catch (err) {
      throw unreachable(this.system, `reading contacts under ${dn}`, err);
    }
    return { ours, foreign };
  }

  /** Reads the given contacts whole; one that has gone away is left out. */
  async readContactsByDn(dns: readonly string[]): Promise<ExistingContact[]> {
    const out: ExistingContact[] = [];
    await eachLimited(dns, READ_CONCURRENCY, async (dn) => {
      try {
        const r = await this.client.search(dn, { scope: 'base', filter: `(|(mail=*)${MARKER_FILTER})`, attributes: [...MANAGED_ATTRIBUTES] });
        for (const e of r.searchEntries) out.push(this.toContact(e));
      } catch (err) {
        if (!isNoSuchObject(err)) throw unreachable(this.system, `reading contact ${dn}`, err);
      }
    });
    return out;
  }

  private async write(what: string, dn: string, op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (err) {
      throw new MbError(DirectoryErrors.DIRECTORY_CONTACT_WRITE_FAILED, `${this.system}: ${what} ${dn}: ${(err as Error).message}`, {
        cause: err, details: { system: this.system, dn },
      });
    }
  }

  addContact(dn: string, attributes: Record<string, string[]>): Promise<void> {
    return this.write('adding', dn, () => this.client.add(dn, attributes));
  }

  modifyContact(dn: string, changes: readonly ContactChange[]): Promise<void> {
    const ops = changes.map((c) => new Change({ operation: 'replace', modification: new Attribute({ type: c.attribute, values: c.values }) }));
    return this.write('changing', dn, () => this.client.modify(dn, ops));
  }

  deleteContact(dn: string): Promise<void> {
    return this.write('deleting', dn, () => this.client.del(dn));
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }
}
