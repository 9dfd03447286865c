import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPerson } from './mapping.js';
import { entryKey } from './plan.js';
import { closeScope, type CompactEntry, type CompactState, type ScopedPeople } from './scoped.js';
import { unify, type RoutingRules } from './unify.js';
import type { SourcePerson } from './types.js';

const rules: RoutingRules = { systemOrder: ['legacy', 'cloud'], migrationTo: 'cloud' };
const SYSTEMS = ['legacy', 'cloud'];

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed by its seed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function person(system: string, id: string, address: string, aliases: string[], name: string): SourcePerson {
  const base = { address, aliases: [...new Set(aliases.filter((a) => a !== address))].sort(), displayName: name, attributes: {} };
  return { system, sourceId: id, origins: {}, ...base, contentHash: hashPerson(base) };
}

/** A small directory where addresses collide often: 40 entries over 30 addresses, some aliases. */
function directory(r: () => number, n = 40): SourcePerson[] {
  const addr = () => `u${Math.floor(r() * 30)}@e.com`;
  const out: SourcePerson[] = [];
  for (let i = 0; i < n; i++) {
    const aliases = r() < 0.3 ? [addr()] : [];
    out.push(person(SYSTEMS[i % 2]!, `uid=${i}`, addr(), aliases, `P${i}`));
  }
  return out;
}

/** The changes of one run: some entries edited (address, aliases or name), some removed, some added. */
function change(r: () => number, before: SourcePerson[]): SourcePerson[] {
  const after: SourcePerson[] = [];
  const addr = () => `u${Math.floor(r() * 30)}@e.com`;
  for (const p of before) {
    const x = r();
    if (x < 0.05) continue;
    if (x < 0.1) after.push(person(p.system, p.sourceId, addr(), p.aliases, p.displayName!));
    else if (x < 0.15) after.push(person(p.system, p.sourceId, p.address, [...p.aliases, addr()], p.displayName!));
    else if (x < 0.2) after.push(person(p.system, p.sourceId, p.address, p.aliases, `${p.displayName!}'`));
    else after.push(p);
  }
  for (let i = 0; i < 3; i++) if (r() < 0.5) after.push(person(SYSTEMS[i % 2]!, `uid=new${i}`, addr(), r() < 0.5 ? [addr()] : [], `N${i}`));
  return after;
}

const compactOf = (p: SourcePerson): CompactEntry => ({
  system: p.system, sourceId: p.sourceId, contentHash: p.contentHash, changeMark: null, address: p.address, aliases: JSON.stringify(p.aliases),
});

const sortConflicts = <T extends { kind: string; address: string; subject?: string }>(list: T[]) =>
  [...list].sort((a, b) => `${a.kind}|${a.address}|${a.subject ?? ''}`.localeCompare(`${b.kind}|${b.address}|${b.subject ?? ''}`));

test('a scoped unify gives the same records and conflicts as unifying everyone (200 random directories and changes)', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const before = directory(r);
    const after = change(r, before);
    const cutOver = new Set(r() < 0.5 ? ['u1@e.com', 'u2@e.com'] : []);
    const old = unify(before, rules, cutOver);
    const now = unify(after, rules, cutOver);

    const beforeByKey = new Map(before.map((p) => [entryKey(p.system, p.sourceId), p]));
    const afterByKey = new Map(after.map((p) => [entryKey(p.system, p.sourceId), p]));
    const people = new Map<string, ScopedPeople>(SYSTEMS.map((s) => [s, { fetched: [], skipped: [], total: 0, removed: [] }]));
    for (const [key, p] of afterByKey) {
      people.get(p.system)!.total++;
      if (beforeByKey.get(key) !== p) people.get(p.system)!.fetched.push(p);
    }
    for (const [key, p] of beforeByKey) if (!afterByKey.has(key)) people.get(p.system)!.removed.push(compactOf(p));
    const compact: CompactState = {
      entries: new Map([...beforeByKey].map(([k, p]) => [k, compactOf(p)])), contacts: new Map(), contactsLoaded: true, contactCounts: {}, sources: new Map(),
      conflictAddresses: old.conflicts.map((c) => c.address), homes: {}, cutoverSeeds: [],
    };
    const scope = closeScope({ compact, people, contacts: new Map() });
    const inScope = [...scope.fetched.values(), ...scope.unchanged.map((e) => beforeByKey.get(entryKey(e.system, e.sourceId))!)];
    const part = unify(inScope, rules, cutOver);

    // Inside the scope: exactly the full unify's records and conflicts.
    const full = new Map(now.people.map((p) => [p.address, p]));
    for (const p of part.people) {
      assert.ok(scope.addresses.has(p.address), `seed ${seed}: ${p.address} unified but not in scope`);
      assert.deepEqual(p, full.get(p.address), `seed ${seed}: ${p.address}`);
    }
    assert.deepEqual(sortConflicts(part.conflicts), sortConflicts(now.conflicts), `seed ${seed}: conflicts`);
    // Outside it: the stored records are still right, and none is missing or left over.
    const oldByAddress = new Map(old.people.map((p) => [p.address, p]));
    for (const p of now.people) {
      if (scope.addresses.has(p.address)) assert.ok(part.people.some((q) => q.address === p.address), `seed ${seed}: ${p.address} missing`);
      else assert.deepEqual(p, oldByAddress.get(p.address), `seed ${seed}: ${p.address} changed outside the scope`);
    }
    for (const p of old.people) {
      if (!full.has(p.address)) assert.ok(scope.addresses.has(p.address), `seed ${seed}: removed ${p.address} not in scope`);
    }
  }
});

test('scope seeds: contacts read whole or gone, open conflicts and cut-over changes pull their addresses in', () => {
  const a = person('legacy', 'uid=a', 'a@e.com', [], 'A');
  const b = person('cloud', 'uid=b', 'b@e.com', ['a2@e.com'], 'B');
  const c = person('cloud', 'uid=c', 'c@e.com', [], 'C');
  const d = person('legacy', 'uid=d', 'a2@e.com', [], 'D');
  const compact: CompactState = {
    entries: new Map([a, b, c, d].map((p) => [entryKey(p.system, p.sourceId), compactOf(p)])), contacts: new Map(), contactsLoaded: true, contactCounts: {}, sources: new Map(),
    conflictAddresses: ['a2@e.com'], homes: {}, cutoverSeeds: ['c@e.com'],
  };
  const people = new Map<string, ScopedPeople>(SYSTEMS.map((s) => [s, { fetched: [], skipped: [], total: 2, removed: [] }]));
  const none = closeScope({ compact: { ...compact, conflictAddresses: [], cutoverSeeds: [] }, people, contacts: new Map() });
  assert.equal(none.addresses.size, 0, 'nothing changed: nothing to unify');
  const s = closeScope({
    compact, people,
    contacts: new Map([['cloud', {
      fetched: 1, missing: ['gone@e.com'],
      contacts: [{ system: 'cloud', dn: 'cn=x', address: 'hand@e.com', ours: false, markerSource: null, values: {} }],
    }]]),
  });
  // a2 (open conflict) closes over b (alias) and d (primary), b brings b@; c is a cut-over seed; a is untouched.
  assert.deepEqual([...s.addresses].sort(), ['a2@e.com', 'b@e.com', 'c@e.com', 'gone@e.com', 'hand@e.com']);
  assert.deepEqual(s.unchanged.map((e) => e.sourceId).sort(), ['uid=b', 'uid=c', 'uid=d']);
});
