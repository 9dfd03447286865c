/**
 * Where a recipient's mailbox lives, behind one interface so either source
 * plugs in: the unified directory in the store (directory issue), or the
 * `systems.*.users` CSV files read directly. Expected outcomes are values;
 * a source that cannot be read throws a transient MbError (RCPT: 451 4.3.0).
 */
import { readFile, stat } from 'node:fs/promises';
import { MbError } from '../core/index.js';
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

/** Splits one CSV line into fields (RFC 4180 quotes; "" inside quotes is one "). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

/** address,name,aliases; header row optional (first field "address"); aliases split by spaces or semicolons. */
export function parsePeopleCsv(text: string, system: string, file: string): Map<string, CsvEntry> {
  const map = new Map<string, CsvEntry>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (!line.trim() || line.trim().startsWith('#')) return;
    const [address = '', , aliases = ''] = csvFields(line);
    if (i === 0 && address.toLowerCase() === 'address') return;
    const key = address.toLowerCase();
    if (!key.includes('@')) return;
    map.set(key, { system, via: `address ${key} (${file}:${i + 1})` });
    for (const a of aliases.split(/[\s;]+/).filter(Boolean)) {
      map.set(a.toLowerCase(), { system, via: `alias of ${key} (${file}:${i + 1})` });
    }
  });
  return map;
}

/** The systems' people CSV files, re-read when one changes (mtime). */
export class CsvResolver implements RecipientResolver {
  readonly source: string;
  #map = new Map<string, CsvEntry>();
  #stamp = '';

  constructor(private readonly files: Readonly<Record<string, string>>, private readonly domains: readonly string[]) {
    this.source = `CSV files (${Object.values(files).join(', ') || 'none'})`;
  }

  async #refresh(): Promise<void> {
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
