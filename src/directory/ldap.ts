/**
 * One system's directory over LDAP: StartTLS (or ldaps://), simple bind, people
 * read with the paged-results control (RFC 2696) so no server size limit cuts
 * the list short, and the contacts container read and written. Every failure
 * to reach or bind is a transient DIRECTORY_SOURCE_UNREACHABLE; a refused
 * write of one contact is a DIRECTORY_CONTACT_WRITE_FAILED for that contact.
 */
import { isIP } from 'node:net';
import { Attribute, Change, Client, type Entry } from 'ldapts';
import { MbError } from '../core/index.js';
import type { LdapEndpoint } from '../config/index.js';
import { normalizeDn } from '../protocol/ldap/index.js';
import { MANAGED_ATTRIBUTES, MARKER_FILTER, comparable, parseMarker, type ContactChange } from './contacts.js';
import { DirectoryErrors } from './errors.js';
import { mapEntry, requestedAttributes, type AttributeMap, type RawEntry } from './mapping.js';
import type { ExistingContact, SourcePerson } from './types.js';

export const PAGE_SIZE = 500;

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
  async readPeople(map: AttributeMap, excludeUnder: readonly string[]): Promise<{ people: SourcePerson[]; skipped: { dn: string; reason: string }[] }> {
    const filter = `(&${wrapFilter(this.cfg.filter)}(!${MARKER_FILTER}))`;
    const people: SourcePerson[] = [];
    const skipped: { dn: string; reason: string }[] = [];
    try {
      const pager = this.client.searchPaginated(this.cfg.baseDn, {
        scope: 'sub', filter, attributes: requestedAttributes(map), paged: { pageSize: PAGE_SIZE },
      });
      // DNs are parsed once per entry and the bases once per read: with 100,000
      // entries, parsing per comparison was the largest CPU cost of reading.
      const bases = excludeUnder.map((b) => normalizeDn(b)).filter((b): b is string => b !== null);
      for await (const page of pager) {
        for (const e of page.searchEntries) {
          const dn = normalizeEntryDn(e.dn);
          if (dn !== null && bases.some((b) => dn === b || dn.endsWith(`,${b}`))) continue;
          const r = mapEntry(this.system, dn ?? e.dn, toRaw(e), map);
          if (r.ok) people.push(r.person);
          else skipped.push({ dn: r.dn, reason: r.reason });
        }
      }
    } catch (err) {
      throw unreachable(this.system, `reading people under ${this.cfg.baseDn}`, err);
    }
    return { people, skipped };
  }

  /** Everything in the contacts container with a mail or our marker. */
  async readContacts(): Promise<ExistingContact[]> {
    const dn = this.cfg.contactsDn;
    if (!dn) return [];
    const out: ExistingContact[] = [];
    try {
      const pager = this.client.searchPaginated(dn, {
        scope: 'sub', filter: `(|(mail=*)${MARKER_FILTER})`, attributes: [...MANAGED_ATTRIBUTES], paged: { pageSize: PAGE_SIZE },
      });
      for await (const page of pager) {
        for (const e of page.searchEntries) {
          const raw = toRaw(e).attributes;
          const lower: Record<string, string[]> = {};
          for (const [k, v] of Object.entries(raw)) lower[k.toLowerCase()] = v;
          const marker = parseMarker(lower.description ?? []);
          const mail = lower.mail?.[0]?.trim().toLowerCase() ?? null;
          out.push({ system: this.system, dn: e.dn, address: mail, ours: marker !== null, markerSource: marker?.source ?? null, values: comparable(raw) });
        }
      }
    } catch (err) {
      throw unreachable(this.system, `reading contacts under ${dn}`, err);
    }
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
