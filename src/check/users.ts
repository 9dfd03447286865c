/**
 * The file sources of a system: the users CSV (`systems.<name>.users`) and the
 * LDIF export (`systems.<name>.ldif`) must exist and parse. CSV rows are
 * "address,name,aliases"; a first row whose first field is "address" is a
 * header (DESIGN.md: both forms are accepted). LDIF records (RFC 2849) are
 * counted; each must start with a dn line.
 */
import { readFile } from 'node:fs/promises';
import { parsePeopleCsv } from '../core/index.js';
import { checkFailure } from './errors.js';
import type { Probe } from './probe.js';

export interface UsersCsv {
  rows: number;
  header: boolean;
  firstAddress?: string;
}

/** Pure: counts the data rows, or says which line is wrong (the one parser in core). */
export function parseUsersCsv(text: string): { ok: true; value: UsersCsv } | { ok: false; reason: string } {
  const parsed = parsePeopleCsv(text);
  if (!parsed.ok) return { ok: false, reason: `line ${parsed.line}: ${parsed.reason}` };
  const first = parsed.rows[0]?.address;
  return { ok: true, value: { rows: parsed.rows.length, header: parsed.header, ...(first ? { firstAddress: first } : {}) } };
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
