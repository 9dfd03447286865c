/**
 * The users of `migration.users`, from core's one parser of the contract's CSV
 * files: address[,source_user,source_password,target_user,target_password],
 * header row optional. Passwords become Secrets at once.
 */
import { MbError, Secret, parseMigrationUsersCsv } from '../core/index.js';
import { MigrationErrors } from './errors.js';
import type { MigrationUser, UserLogin } from './types.js';

function login(user: string | undefined, password: string | undefined, file: string): UserLogin | undefined {
  if (!user) return undefined;
  return { user, password: new Secret(password ?? '', 'file', file) };
}

export function parseUsersCsv(text: string, file = 'migration.users'): MigrationUser[] {
  const parsed = parseMigrationUsersCsv(text);
  if (!parsed.ok) {
    throw new MbError(MigrationErrors.MIGRATION_USERS_INVALID, `${file}:${parsed.line}: ${parsed.reason}`, { details: { file, line: parsed.line } });
  }
  return parsed.rows.map((r) => {
    const source = login(r.sourceUser, r.sourcePassword, file);
    const target = login(r.targetUser, r.targetPassword, file);
    return { address: r.address, ...(source ? { source } : {}), ...(target ? { target } : {}) };
  });
}

/** What directoryUsers needs of the store's user repository (store.users). */
export interface DirectoryUsers {
  list(opts: { homeSystem?: string; limit: number; offset?: number }): Promise<readonly { address: string }[]>;
}

/**
 * The people the unified directory homes on the source system, when
 * migration.users is not set: logins go through the admin (imap.admin), so the
 * directory needs no passwords. Read a page at a time, in address order.
 */
export async function directoryUsers(repo: DirectoryUsers, homeSystem: string, pageSize = 1000): Promise<MigrationUser[]> {
  const out: MigrationUser[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await repo.list({ homeSystem, limit: pageSize, offset });
    for (const u of page) out.push({ address: u.address.toLowerCase() });
    if (page.length < pageSize) return out;
  }
}
