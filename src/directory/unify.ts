/**
 * The unified directory, computed: one record per primary address from the
 * people of every system, with the routing decision and the conflicts. Pure.
 *
 * Rules (issue 5), deterministic so two nodes computing the same input agree:
 * - An address that two systems claim is a conflict. Routing goes to the
 *   migration target once the user is cut over, else to the first claimant in
 *   `directory.conflictWinner`, else in the order systems are named.
 * - The record's values all come from the winner's entry (no field mixing);
 *   the loser's entry is kept and shown by `directory show`.
 * - An alias that is someone's primary address stays with that person; an
 *   alias listed by two people goes to the one whose home ranks first (then
 *   the smaller address). Either way it is a reported conflict.
 */
import { createHash } from 'node:crypto';
import type { Conflict, RoutingDecision, SourcePerson, UnifiedPerson } from './types.js';

export interface RoutingRules {
  /** System names in the order the config names them. */
  systemOrder: readonly string[];
  conflictWinner?: readonly string[];
  migrationTo?: string;
}

/** The rank of each system: conflictWinner first, then the remaining systems as named. */
export function systemRanks(rules: RoutingRules): Map<string, number> {
  const order = [...(rules.conflictWinner ?? []), ...rules.systemOrder];
  const ranks = new Map<string, number>();
  for (const s of order) if (!ranks.has(s)) ranks.set(s, ranks.size);
  return ranks;
}

export function chooseHome(claimants: readonly string[], rules: RoutingRules, cutOver: boolean): RoutingDecision {
  if (cutOver && rules.migrationTo) {
    return { system: rules.migrationTo, reason: `cut over to ${rules.migrationTo} (the migration target)` };
  }
  if (claimants.length === 1) return { system: claimants[0]!, reason: `only ${claimants[0]} has this person` };
  const ranks = systemRanks(rules);
  const rank = (s: string) => ranks.get(s) ?? Number.MAX_SAFE_INTEGER;
  const sorted = [...claimants].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  const winner = sorted[0]!;
  const why = rules.conflictWinner?.includes(winner) ? 'directory.conflictWinner' : 'named first under systems';
  return { system: winner, reason: `claimed by ${sorted.join(', ')}; ${winner} wins (${why})` };
}

export function hashUnified(p: Omit<UnifiedPerson, 'contentHash' | 'claimants'>): string {
  const e = p.entry;
  const attrs = Object.keys(e.attributes).sort().map((k) => [k, e.attributes[k]]);
  return createHash('sha256')
    .update(JSON.stringify([p.address, p.aliases, e.displayName, attrs, p.home.system, e.system, e.sourceId]))
    .digest('hex').slice(0, 32);
}

export interface UnifyResult {
  people: UnifiedPerson[];
  conflicts: Conflict[];
}

function byId(a: SourcePerson, b: SourcePerson): number {
  return a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0;
}

/** people: every source's people; cutOver: addresses whose migration state is `cutover`. */
export function unify(people: readonly SourcePerson[], rules: RoutingRules, cutOver: ReadonlySet<string>): UnifyResult {
  const conflicts: Conflict[] = [];
  // Grouped by address first (one list per address, no copies): almost every
  // address has one claimant, and grouping by system is only needed for the rest.
  const byAddress = new Map<string, SourcePerson[]>();
  for (const p of people) {
    const list = byAddress.get(p.address);
    if (list) list.push(p);
    else byAddress.set(p.address, [p]);
  }
  const ranks = systemRanks(rules);
  const out: UnifiedPerson[] = [];
  for (const address of [...byAddress.keys()].sort()) {
    const all = byAddress.get(address)!;
    if (all.length === 1) {
      const entry = all[0]!;
      const home = chooseHome([entry.system], rules, cutOver.has(address));
      out.push({ address, home, entry, claimants: [entry.system], aliases: [...entry.aliases], contentHash: '' });
      continue;
    }
    const systems = new Map<string, SourcePerson[]>();
    for (const p of all) {
      const list = systems.get(p.system);
      if (list) list.push(p);
      else systems.set(p.system, [p]);
    }
    const entries = new Map<string, SourcePerson>();
    for (const [system, list] of systems) {
      const sorted = [...list].sort(byId);
      entries.set(system, sorted[0]!);
      if (sorted.length > 1) {
        conflicts.push({
          kind: 'duplicate-in-system', address, systems: [system], winner: null, subject: system,
          detail: `${system} has ${sorted.length} people with this address (${sorted.map((s) => s.dn ?? s.sourceId).join('; ')}); using the first`,
        });
      }
    }
    const claimants = [...entries.keys()].sort((a, b) => (ranks.get(a) ?? 1e9) - (ranks.get(b) ?? 1e9) || (a < b ? -1 : 1));
    const home = chooseHome(claimants, rules, cutOver.has(address));
    const entry = entries.get(home.system) ?? entries.get(claimants[0]!)!;
    if (claimants.length > 1) {
      conflicts.push({ kind: 'address-claimed', address, systems: claimants, winner: home.system, detail: home.reason });
    }
    out.push({ address, home, entry, claimants, aliases: [...entry.aliases], contentHash: '' });
  }
  resolveAliases(out, ranks, conflicts);
  for (const p of out) p.contentHash = hashUnified(p);
  return { people: out, conflicts };
}

function resolveAliases(people: UnifiedPerson[], ranks: Map<string, number>, conflicts: Conflict[]): void {
  const primaries = new Set(people.map((p) => p.address));
  const claims = new Map<string, UnifiedPerson[]>();
  for (const p of people) {
    for (const a of p.aliases) {
      const list = claims.get(a);
      if (list) list.push(p);
      else claims.set(a, [p]);
    }
  }
  const drop = new Map<UnifiedPerson, Set<string>>();
  const dropAlias = (p: UnifiedPerson, a: string) => drop.set(p, (drop.get(p) ?? new Set()).add(a));
  for (const alias of [...claims.keys()].sort()) {
    const owners = claims.get(alias)!;
    if (primaries.has(alias)) {
      for (const p of owners) dropAlias(p, alias);
      conflicts.push({
        kind: 'alias-claimed', address: alias, systems: [...new Set(owners.map((p) => p.home.system))], winner: null,
        detail: `${alias} is a person's primary address and also an alias of ${owners.map((p) => p.address).join(', ')}; the primary address keeps it`,
      });
    } else if (owners.length > 1) {
      const rank = (p: UnifiedPerson) => ranks.get(p.home.system) ?? 1e9;
      const sorted = [...owners].sort((x, y) => rank(x) - rank(y) || (x.address < y.address ? -1 : 1));
      for (const p of sorted.slice(1)) dropAlias(p, alias);
      conflicts.push({
        kind: 'alias-claimed', address: alias, systems: [...new Set(sorted.map((p) => p.home.system))], winner: sorted[0]!.home.system,
        detail: `${alias} is an alias of ${sorted.map((p) => p.address).join(', ')}; ${sorted[0]!.address} keeps it`,
      });
    }
  }
  for (const [p, set] of drop) p.aliases = p.aliases.filter((a) => !set.has(a));
}
