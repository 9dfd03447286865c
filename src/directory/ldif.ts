/**
 * LDIF content records (RFC 2849) to raw entries: comments, folded lines (a
 * line starting with one space continues the previous one), `attr:: base64`
 * values, an optional `version: 1`. Change records other than `add` are not
 * people and are refused; `attr:< URL` values are refused (no file reads on a
 * file's say-so).
 */
import { MbError } from '../core/index.js';
import { DirectoryErrors } from './errors.js';
import type { RawEntry } from './mapping.js';

function invalid(file: string, line: number, reason: string): MbError {
  return new MbError(DirectoryErrors.DIRECTORY_SOURCE_INVALID, `${file}:${line}: ${reason}`, { details: { file, line } });
}

/** Unfolds lines, keeping for each logical line the physical line it starts on. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string; comment: boolean }[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    const prev = out[out.length - 1];
    // A comment may be folded too; its continuation belongs to it.
    if (raw.startsWith(' ') && prev && prev.text !== '') prev.text += raw.slice(1);
    else out.push({ line: i + 1, text: raw, comment: raw.startsWith('#') });
  });
  return out.filter((l) => !l.comment);
}

export function parseLdif(text: string, file: string): RawEntry[] {
  const entries: RawEntry[] = [];
  let cur: { entry: RawEntry; line: number } | null = null;
  const flush = () => { if (cur) entries.push(cur.entry); cur = null; };
  for (const { line, text: l } of logicalLines(text)) {
    if (l.trim() === '') { flush(); continue; }
    const m = /^([A-Za-z0-9][A-Za-z0-9;.-]*)(:<|::?)\s*(.*)$/.exec(l);
    if (!m) throw invalid(file, line, `not an LDIF line: ${JSON.stringify(l.slice(0, 60))}`);
    const [, attr, sep, rest] = m as unknown as [string, string, string, string];
    if (sep === ':<') throw invalid(file, line, `${attr}: values by URL are not supported`);
    const value = sep === '::' ? Buffer.from(rest, 'base64').toString('utf8') : rest;
    const name = attr.toLowerCase();
    if (!cur) {
      if (name === 'version') continue;
      if (name !== 'dn') throw invalid(file, line, `a record must start with dn:, found ${attr}:`);
      cur = { entry: { dn: value, attributes: {} }, line };
      continue;
    }
    if (name === 'dn') throw invalid(file, line, 'dn: inside a record (records are separated by a blank line)');
    if (name === 'changetype') {
      if (value.trim().toLowerCase() !== 'add') throw invalid(file, line, `changetype ${value.trim()} is not a person (only add records are read)`);
      continue;
    }
    (cur.entry.attributes[attr] ??= []).push(value);
  }
  flush();
  return entries;
}
