/**
 * The file sources of a system: the users CSV (`systems.<name>.users`) and the
 * LDIF export (`systems.<name>.ldif`) must exist and parse. CSV rows are
 * "address,name,aliases"; a first row whose first field is "address" is a
 * header (DESIGN.md: both forms are accepted). LDIF records (RFC 2849) are
 * counted; each must start with a dn line.
 */
import { readFile } from 'node:fs/promises';
import { checkFailure } from './errors.js';
import type { Probe } from './probe.js';

export interface UsersCsv {
  rows: number;
  header: boolean;
  firstAddress?: string;
}

/** Splits one CSV line (RFC 4180 quoting: "a, b" and "" inside quotes). */
export function splitCsvLine(line: string): string[] | null {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"' && field.trim() === '') { quoted = true; field = ''; } else if (c === ',') { out.push(field.trim()); field = ''; } else field += c;
  }
  if (quoted) return null;
  out.push(field.trim());
  return out;
}

/** Pure: counts the data rows, or says which line is wrong. */
export function parseUsersCsv(text: string): { ok: true; value: UsersCsv } | { ok: false; reason: string } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let rows = 0;
  let header = false;
  let firstAddress: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const fields = splitCsvLine(line);
    if (!fields) return { ok: false, reason: `line ${i + 1}: unterminated quote` };
    const first = fields[0]!;
    if (rows === 0 && !header && first.toLowerCase() === 'address') { header = true; continue; }
    if (!/^[^@\s]+@[^@\s]+$/.test(first)) return { ok: false, reason: `line ${i + 1}: "${first.slice(0, 80)}" is not an address` };
    firstAddress ??= first;
    rows++;
  }
  return { ok: true, value: { rows, header, ...(firstAddress ? { firstAddress } : {}) } };
}

export async function readUsersCsv(path: string): Promise<UsersCsv> {
  const parsed = parseUsersCsv(await readFile(path, 'utf8'));
  if (!parsed.ok) throw checkFailure('CHECK_PROTOCOL', `${path}: ${parsed.reason}`);
  return parsed.value;
}

export async function checkUsers(p: Probe, path: string): Promise<string> {
  p.step(`the file ${path}`);
  const csv = await readUsersCsv(path);
  p.details.rows = csv.rows;
  p.details.header = csv.header;
  return `${csv.rows} ${csv.rows === 1 ? 'user' : 'users'} (${csv.header ? 'with' : 'without'} header row)`;
}

/** Pure: counts the entries of an LDIF file (RFC 2849), or says which line is wrong. */
export function parseLdif(text: string): { ok: true; entries: number } | { ok: false; reason: string } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let entries = 0;
  let inRecord = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') { inRecord = false; continue; }
    if (line.startsWith('#') || line.startsWith(' ')) continue; // comments and folded continuations
    if (inRecord) continue;
    if (entries === 0 && /^version:\s*1\s*$/i.test(line)) continue;
    if (!/^dn::?/i.test(line)) return { ok: false, reason: `line ${i + 1}: an entry must start with "dn:", found "${line.slice(0, 60)}"` };
    entries++;
    inRecord = true;
  }
  return { ok: true, entries };
}

export async function checkLdif(p: Probe, path: string): Promise<string> {
  p.step(`the file ${path}`);
  const parsed = parseLdif(await readFile(path, 'utf8'));
  if (!parsed.ok) throw checkFailure('CHECK_PROTOCOL', `${path}: ${parsed.reason}`);
  p.details.entries = parsed.entries;
  return `${parsed.entries} ${parsed.entries === 1 ? 'entry' : 'entries'}`;
}
