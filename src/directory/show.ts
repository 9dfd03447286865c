/**
 * `directory show ADDRESS`: the unified record, every source entry that names
 * the address (so a value can be traced to the system, DN and attribute it came
 * from), the contacts provisioned for it, open conflicts, and the routing
 * decision with its reason.
 */
import type { Store, StoredUser } from '../store/index.js';
import type { DirectorySettings } from './sync.js';
import { chooseHome } from './unify.js';

export interface ShownEntry {
  system: string;
  sourceId: string;
  address: string;
  aliases: string[];
  displayName: string | null;
  attributes: Record<string, string>;
  origins: Record<string, string>;
  changeMark: string | null;
  firstSeen: number;
  lastSeen: number;
}

export interface ShowResult {
  address: string;
  found: boolean;
  record: StoredUser | null;
  sources: ShownEntry[];
  contacts: { system: string; dn: string; sourceSystem: string }[];
  conflicts: { kind: string; systems: string[]; winner: string | null; detail: string }[];
  routing: { system: string; reason: string } | null;
}

const json = <T>(t: string, fallback: T): T => { try { return JSON.parse(t) as T; } catch { return fallback; } };

export async function showRecord(store: Store, address: string, settings: DirectorySettings): Promise<ShowResult> {
  const record = await store.users.get(address);
  const key = record?.address ?? address.trim().toLowerCase();
  const rows = await store.db.selectFrom('directory_entries').selectAll().where('address', '=', key).orderBy('system').execute();
  const sources: ShownEntry[] = rows.map((r) => ({
    system: r.system, sourceId: r.source_id, address: r.address, aliases: json(r.aliases, []), displayName: r.display_name,
    attributes: json(r.attributes, {}), origins: json(r.origins, {}), changeMark: r.change_mark, firstSeen: r.first_seen, lastSeen: r.last_seen,
  }));
  const contacts = (await store.db.selectFrom('directory_contacts').select(['system', 'dn', 'source_system']).where('address', '=', key).orderBy('system').execute())
    .map((c) => ({ system: c.system, dn: c.dn, sourceSystem: c.source_system }));
  const conflicts = (await store.db.selectFrom('directory_conflicts').selectAll().where('address', 'in', [key, address.trim().toLowerCase()]).orderBy('key').execute())
    .map((c) => ({ kind: c.kind, systems: json<string[]>(c.systems, []), winner: c.winner, detail: c.detail }));
  let routing: ShowResult['routing'] = null;
  if (record) {
    const claimants = [...new Set(sources.map((s) => s.system))];
    const rules = {
      systemOrder: Object.keys(settings.systems),
      ...(settings.directory.conflictWinner ? { conflictWinner: settings.directory.conflictWinner } : {}),
      ...(settings.migration ? { migrationTo: settings.migration.to } : {}),
    };
    const decision = claimants.length ? chooseHome(claimants, rules, record.migrationState === 'cutover') : null;
    routing = decision && decision.system === record.homeSystem
      ? decision
      : { system: record.homeSystem, reason: `home system in the store (${record.migrationState === 'none' ? 'set outside directory sync' : `migration state ${record.migrationState}`})` };
    if (record.address !== address.trim().toLowerCase()) routing.reason += `; ${address.trim().toLowerCase()} is an alias of ${record.address}`;
  }
  return { address: address.trim().toLowerCase(), found: record !== null, record, sources, contacts, conflicts, routing };
}
