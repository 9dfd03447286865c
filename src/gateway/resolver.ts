/**
 * Where a recipient's mailbox lives, behind one interface so either source
 * plugs in: the unified directory in the store (directory issue), or the
 * `systems.*.users` CSV files read directly. Expected outcomes are values;
 * a source that cannot be read throws a transient MbError (RCPT: 451 4.3.0).
 */
import { readFile, stat } from 'node:fs/promises';
import { MbError, parsePeopleCsv as parseCsv } from '../core/index.js';
import { resolveRecipient } from '../directory/index.js';
import type { Store } from '../store/index.js';
import { GatewayErrors } from './errors.js';

export type Resolution =
  | { kind: 'system'; name: string; via: string }
  | { kind: 'external' }
  | { kind: 'unknown' };

export interface RecipientResolver {
  resolve(address: string): Promise<Resolution>;
  /** Where the answers come from, for `route explain`. */
  readonly source: string;
}

function unavailable(what: string, cause: unknown): MbError {
  return new MbError(GatewayErrors.GATEWAY_DIRECTORY_UNAVAILABLE, `gateway: ${what} could not be read`, { retry: 'transient', cause });
}

function inDomains(address: string, domains: readonly string[]): boolean {
  const d = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return domains.some((x) => x.toLowerCase() === d);
}

/** The unified directory (store users and aliases). */
export class DirectoryResolver implements RecipientResolver {
  readonly source = 'directory (store)';
  constructor(private readonly store: Pick<Store, 'users'>, private readonly domains: readonly string[]) {}

  async resolve(address: string): Promise<Resolution> {
    try {
      const r = await resolveRecipient(this.store, address, { domains: this.domains });
      if (r.kind !== 'system') return r;
      return { kind: 'system', name: r.name, via: r.via === 'alias' ? `alias of ${r.record.address}` : `address ${r.record.address}` };
    } catch (err) {
      throw unavailable('the directory', err);
    }
  }
}

interface CsvEntry {
  system: string;
  via: string;
}

/**
 * address,name,aliases, parsed by core's one CSV parser (header optional,
 * aliases split by spaces or semicolons). A bad line throws with file and line.
 */
export function parsePeopleCsv(text: string, system: string, file: string): Map<string, CsvEntry> {
  const parsed = parseCsv(text);
  if (!parsed.ok) throw new Error(`${file}:${parsed.line}: ${parsed.reason}`);
  const map = new Map<string, CsvEntry>();
  for (const row of parsed.rows) {
    map.set(row.address, { system, via: `address ${row.address} (${file}:${row.line})` });
    for (const a of row.aliases) map.set(a, { system, via: `alias of ${row.address} (${file}:${row.line})` });
  }
  return map;
}

/**
 * The systems' people CSV files, re-read when one changes (mtime). The mtimes
 * are looked at once per `checkEveryMs` at most, not per recipient: a stat
 * per RCPT and per delivery was 8% of the gateway's CPU under load.
 */
export class CsvResolver implements RecipientResolver {
  readonly source: string;
  #map = new Map<string, CsvEntry>();
  #stamp = '';
  #checkedAt = -Infinity;
  #refreshing: Promise<void> | undefined;

  constructor(
    private readonly files: Readonly<Record<string, string>>,
    private readonly domains: readonly string[],
    private readonly checkEveryMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.source = `CSV files (${Object.values(files).join(', ') || 'none'})`;
  }

  /** One look at the files at a time; callers meanwhile share it. */
  #refresh(): Promise<void> {
    if (this.now() - this.#checkedAt < this.checkEveryMs) return Promise.resolve();
    this.#refreshing ??= this.#reload().then(
      () => { this.#checkedAt = this.now(); this.#refreshing = undefined; },
      (err: unknown) => { this.#refreshing = undefined; throw err; },
    );
    return this.#refreshing;
  }

  async #reload(): Promise<void> {
    const entries = Object.entries(this.files);
    let stamp: string;
    try {
      stamp = (await Promise.all(entries.map(async ([, f]) => `${f}:${(await stat(f)).mtimeMs}`))).join('|');
    } catch (err) {
      throw unavailable('a people CSV file', err);
    }
    if (stamp === this.#stamp) return;
    const map = new Map<string, CsvEntry>();
    for (const [system, file] of entries) {
      try {
        for (const [k, v] of parsePeopleCsv(await readFile(file, 'utf8'), system, file)) if (!map.has(k)) map.set(k, v);
      } catch (err) {
        throw unavailable(file, err);
      }
    }
    this.#map = map;
    this.#stamp = stamp;
  }

  async resolve(address: string): Promise<Resolution> {
    const key = address.trim().toLowerCase();
    if (!inDomains(key, this.domains)) return { kind: 'external' };
    await this.#refresh();
    const e = this.#map.get(key);
    return e ? { kind: 'system', name: e.system, via: e.via } : { kind: 'unknown' };
  }
}

/**
 * The unified directory once a sync has filled it, the users CSV files until
 * then. Asked per lookup (the answer of "is the directory filled" is kept a few
 * seconds), so a gateway started before the first directory sync switches over
 * without a restart.
 */
export class DirectoryOrCsvResolver implements RecipientResolver {
  #filled = false;
  #checkedAt = -Infinity;

  constructor(
    private readonly store: Pick<Store, 'users'>,
    private readonly directory: RecipientResolver,
    private readonly csv: RecipientResolver,
    private readonly now: () => number = Date.now,
  ) {}

  get source(): string {
    return this.#filled ? this.directory.source : this.csv.source;
  }

  async resolve(address: string): Promise<Resolution> {
    if (!this.#filled && this.now() - this.#checkedAt > 5000) {
      try {
        this.#filled = (await this.store.users.count()) > 0;
      } catch (err) {
        throw unavailable('the directory', err);
      }
      this.#checkedAt = this.now();
    }
    return (this.#filled ? this.directory : this.csv).resolve(address);
  }
}
