/**
 * Which system holds a person's calendar. DESIGN.md: it follows the unified
 * directory (the home system); until the directory lands, the users CSV of each
 * system and the address's domain decide:
 *
 * 1. The address or one of its aliases is listed in `systems.<name>.users`:
 *    that system, looked up under the primary address.
 * 2. The domain is a system's routing domain (gateway.routing.routingDomains).
 * 3. The domain is one of the shared `domains` and exactly one system with a
 *    calendar source has no users list (a listed system is authoritative for
 *    its people, so it never claims an unlisted address).
 * 4. Otherwise the address is unknown (HTTP 404).
 *
 * Pure: the CSV texts come in as strings (only cli/ reads files).
 */
import { MbError } from '../core/errors.js';
import { parsePeopleCsv } from '../core/csv.js';
import { CalendarErrors } from './errors.js';
import type { Person } from './types.js';

export interface UserRow {
  address: string;
  name: string;
  aliases: string[];
}

export interface SystemPeople {
  name: string;
  /** Rows of its users CSV; undefined when the system has no users list. */
  users?: UserRow[];
  /** Has caldav or freebusyUrl. */
  hasSource: boolean;
  /** Its routing domain, if any. */
  routingDomain?: string;
}

export type Resolution =
  | { kind: 'system'; system: string; person: Person; via: 'directory' | 'users' | 'routing-domain' | 'domain' }
  | { kind: 'unknown'; reason: string };

const ADDRESS = /^[^@\s/\\<>"]+@[^@\s/\\<>"]+$/;

/** A lower-cased address, or throws CALENDAR_ADDRESS_INVALID. */
export function normalizeAddress(text: string): Person {
  const a = text.trim().replace(/^mailto:/i, '').toLowerCase();
  const at = a.lastIndexOf('@');
  if (a.length > 320 || !ADDRESS.test(a) || at <= 0) {
    throw new MbError(CalendarErrors.CALENDAR_ADDRESS_INVALID, `${JSON.stringify(text.slice(0, 80))} is not an address (local@domain)`);
  }
  const local = a.slice(0, at);
  if (/^\.+$/.test(local)) throw new MbError(CalendarErrors.CALENDAR_ADDRESS_INVALID, `${JSON.stringify(text.slice(0, 80))} is not an address`);
  return { address: a, local, domain: a.slice(at + 1) };
}

/**
 * Rows of a users CSV (core's one parser of the contract's CSV files: optional
 * header, quoting, aliases separated by spaces or semicolons); a bad line
 * throws with its number.
 */
export function parseUsersCsv(text: string, file = 'users CSV'): UserRow[] {
  const r = parsePeopleCsv(text);
  if (!r.ok) throw new MbError(CalendarErrors.CALENDAR_ADDRESS_INVALID, `${file} line ${r.line}: ${r.reason}`);
  return r.rows.map((row) => ({ address: row.address, name: row.name ?? '', aliases: row.aliases }));
}

export class PersonResolver {
  readonly #byAddress = new Map<string, { system: string; primary: string }>();
  readonly #routing = new Map<string, string>();
  readonly #unlisted: string[];
  readonly #domains: Set<string>;

  constructor(systems: SystemPeople[], domains: readonly string[]) {
    this.#domains = new Set(domains.map((d) => d.toLowerCase()));
    for (const s of systems) {
      if (s.routingDomain) this.#routing.set(s.routingDomain.toLowerCase(), s.name);
      for (const row of s.users ?? []) {
        // The first system listing an address keeps it (config order), as the directory's conflict rule will decide later.
        for (const a of [row.address, ...row.aliases]) if (!this.#byAddress.has(a)) this.#byAddress.set(a, { system: s.name, primary: row.address });
      }
    }
    this.#unlisted = systems.filter((s) => s.users === undefined && s.hasSource).map((s) => s.name);
  }

  /** Throws CALENDAR_ADDRESS_INVALID for a malformed address; unknown people are a value. */
  resolve(address: string): Resolution {
    const asked = normalizeAddress(address);
    const listed = this.#byAddress.get(asked.address);
    if (listed) return { kind: 'system', system: listed.system, person: normalizeAddress(listed.primary), via: 'users' };
    const routed = this.#routing.get(asked.domain);
    if (routed) return { kind: 'system', system: routed, person: asked, via: 'routing-domain' };
    if (this.#domains.has(asked.domain) && this.#unlisted.length === 1) {
      return { kind: 'system', system: this.#unlisted[0]!, person: asked, via: 'domain' };
    }
    const why = this.#unlisted.length > 1 && this.#domains.has(asked.domain)
      ? `it is in no users list, and its domain fits ${this.#unlisted.join(' and ')} alike`
      : 'it is in no users list and its domain names no single system';
    return { kind: 'unknown', reason: `${asked.address} is not a user of any system: ${why}` };
  }
}

/** The unified directory's answer for an address: home system and primary address. */
export type DirectoryLookup = (address: string) => Promise<{ system: string; primary: string } | null>;

/**
 * The directory first (DESIGN.md: free/busy follows the person's home system,
 * which a cutover flips), then the users CSV and domain rules for people the
 * directory does not know (no sync yet, or systems without a directory source).
 */
export class DirectoryFirstResolver {
  constructor(private readonly lookup: DirectoryLookup, private readonly fallback: PersonResolver) {}

  async resolve(address: string): Promise<Resolution> {
    const asked = normalizeAddress(address);
    const found = await this.lookup(asked.address);
    if (found) return { kind: 'system', system: found.system, person: normalizeAddress(found.primary), via: 'directory' };
    return this.fallback.resolve(address);
  }
}
