/**
 * The people CSV of a system (`systems.*.users`, DESIGN.md): address, name,
 * aliases. A header row is recognised when its first field is `address`; aliases
 * are full addresses separated by spaces or semicolons. Fields may be quoted
 * (RFC 4180: "" inside quotes is one "), so a name may hold a comma.
 */
import { MbError, parsePeopleCsv } from '../core/index.js';
import { DirectoryErrors } from './errors.js';
import { hashPerson } from './mapping.js';
import type { SourcePerson } from './types.js';

function invalid(file: string, line: number, reason: string): MbError {
  return new MbError(DirectoryErrors.DIRECTORY_SOURCE_INVALID, `${file}:${line}: ${reason}`, { details: { file, line } });
}

/** The people CSV (parsed by core's one CSV parser) as directory source people. */
export function parseUsersCsv(text: string, system: string, file: string): SourcePerson[] {
  const parsed = parsePeopleCsv(text);
  if (!parsed.ok) throw invalid(file, parsed.line, parsed.reason);
  return parsed.rows.map(({ line, address, name, aliases }) => {
    const base = { address, aliases, displayName: name, attributes: {} };
    const origins: Record<string, string> = { address: `${file}:${line} column address` };
    if (name) origins.displayName = `${file}:${line} column name`;
    if (aliases.length) origins.aliases = `${file}:${line} column aliases`;
    return { system, sourceId: address, ...base, origins, contentHash: hashPerson(base) };
  });
}
