/**
 * The CSV files of the contract (DESIGN.md), parsed in one place:
 * - people (`systems.<name>.users`): address,name,aliases
 * - migration users (`migration.users`): address[,source_user,source_password,target_user,target_password]
 * A first row whose first field is `address` is a header; both forms are
 * accepted. Fields may be quoted (RFC 4180: "" inside quotes is one ", and a
 * quoted field may span lines). Aliases are full addresses separated by spaces
 * or semicolons. Lines starting with # are comments. Pure: text in, rows out.
 */
import { splitAddress } from './types.js';

export interface CsvRecord { line: number; fields: string[] }
export type CsvResult<T> = { ok: true; rows: T[]; header: boolean } | { ok: false; line: number; reason: string };

/** Lower-cased address, or null when it is not local@domain without spaces. */
export function normalizeAddress(a: string): string | null {
  const t = a.trim().toLowerCase();
  return t !== '' && splitAddress(t) && !/\s/.test(t) ? t : null;
}

/** Aliases: full addresses separated by spaces or semicolons. */
export function splitAliases(text: string): string[] {
  return text.split(/[\s;]+/).filter(Boolean);
}

/** Splits CSV text into records of trimmed fields, each with the line it starts on. */
export function parseCsvRecords(text: string): { ok: true; records: CsvRecord[] } | { ok: false; line: number; reason: string } {
  const records: CsvRecord[] = [];
  const src = text.replace(/^\uFEFF/, '');
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let touched = false;
  let line = 1;
  let start = 1;
  const endRecord = (): void => {
    const isComment = fields.length === 0 && field.trimStart().startsWith('#');
    if ((touched || field.trim() !== '') && !isComment) records.push({ line: start, fields: [...fields, field].map((f) => f.trim()) });
    fields = [];
    field = '';
    touched = false;
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else { if (c === '\n') line++; field += c; }
      continue;
    }
    if (c === '"' && field.trim() === '') { quoted = true; field = ''; touched = true; } else if (c === ',') { fields.push(field); field = ''; touched = true; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else { field += c; if (c.trim() !== '') touched = true; }
  }
  if (quoted) return { ok: false, line: start, reason: 'a quoted field is not closed' };
  endRecord();
  return { ok: true, records };
}

function withoutHeader(records: CsvRecord[]): { body: CsvRecord[]; header: boolean } {
  const header = records[0]?.fields[0]?.toLowerCase() === 'address';
  return { body: header ? records.slice(1) : records, header };
}

export interface PeopleRow { line: number; address: string; name: string | null; aliases: string[] }

/** The people CSV: every address valid, no address listed twice, aliases valid. */
export function parsePeopleCsv(text: string): CsvResult<PeopleRow> {
  const parsed = parseCsvRecords(text);
  if (!parsed.ok) return parsed;
  const { body, header } = withoutHeader(parsed.records);
  const seen = new Map<string, number>();
  const rows: PeopleRow[] = [];
  for (const { line, fields } of body) {
    if (fields.length > 3) return { ok: false, line, reason: `expected at most 3 fields (address,name,aliases), found ${fields.length}` };
    const [rawAddr = '', rawName = '', rawAliases = ''] = fields;
    const address = normalizeAddress(rawAddr);
    if (!address) return { ok: false, line, reason: `"${rawAddr.slice(0, 80)}" is not an address` };
    const prior = seen.get(address);
    if (prior !== undefined) return { ok: false, line, reason: `${address} is listed again (first on line ${prior})` };
    seen.set(address, line);
    const aliases = new Set<string>();
    for (const a of splitAliases(rawAliases)) {
      const n = normalizeAddress(a);
      if (!n) return { ok: false, line, reason: `alias "${a.slice(0, 80)}" is not an address` };
      if (n !== address) aliases.add(n);
    }
    rows.push({ line, address, name: rawName || null, aliases: [...aliases].sort() });
  }
  return { ok: true, rows, header };
}

export interface MigrationUserRow {
  line: number;
  address: string;
  sourceUser?: string;
  sourcePassword?: string;
  targetUser?: string;
  targetPassword?: string;
}

/** The migration users CSV; per-side logins are optional (master user or authzid login otherwise). */
export function parseMigrationUsersCsv(text: string): CsvResult<MigrationUserRow> {
  const parsed = parseCsvRecords(text);
  if (!parsed.ok) return parsed;
  const { body, header } = withoutHeader(parsed.records);
  const seen = new Map<string, number>();
  const rows: MigrationUserRow[] = [];
  for (const { line, fields } of body) {
    if (fields.length > 5) return { ok: false, line, reason: `expected at most 5 fields, found ${fields.length}` };
    const [rawAddr = '', sourceUser, sourcePassword, targetUser, targetPassword] = fields;
    const address = normalizeAddress(rawAddr);
    if (!address) return { ok: false, line, reason: `"${rawAddr.slice(0, 80)}" is not an address` };
    const prior = seen.get(address);
    if (prior !== undefined) return { ok: false, line, reason: `${address} is listed again (first on line ${prior})` };
    seen.set(address, line);
    if (Boolean(sourceUser) !== Boolean(sourcePassword)) return { ok: false, line, reason: 'source_user and source_password go together' };
    if (Boolean(targetUser) !== Boolean(targetPassword)) return { ok: false, line, reason: 'target_user and target_password go together' };
    rows.push({
      line, address,
      ...(sourceUser ? { sourceUser, sourcePassword } : {}),
      ...(targetUser ? { targetUser, targetPassword } : {}),
    });
  }
  return { ok: true, rows, header };
}
