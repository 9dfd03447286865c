import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPerson } from './mapping.js';
import { chooseHome, unify } from './unify.js';
import type { SourcePerson } from './types.js';

function person(system: string, address: string, extra: Partial<SourcePerson> = {}): SourcePerson {
  const base = { address, aliases: extra.aliases ?? [], displayName: extra.displayName ?? address, attributes: extra.attributes ?? {} };
  return { system, sourceId: extra.sourceId ?? `uid=${address},ou=${system}`, origins: {}, ...base, contentHash: hashPerson(base) };
}

const rules = { systemOrder: ['legacy', 'cloud'], migrationTo: 'cloud' };

test('routing: single claimant, first named, conflictWinner, cut over', () => {
  assert.deepEqual(chooseHome(['cloud'], rules, false), { system: 'cloud', reason: 'only cloud has this person' });
  assert.equal(chooseHome(['cloud', 'legacy'], rules, false).system, 'legacy');
  assert.match(chooseHome(['cloud', 'legacy'], rules, false).reason, /named first under systems/);
  const cw = chooseHome(['legacy', 'cloud'], { ...rules, conflictWinner: ['cloud'] }, false);
  assert.deepEqual(cw, { system: 'cloud', reason: 'claimed by cloud, legacy; cloud wins (directory.conflictWinner)' });
  assert.equal(chooseHome(['legacy'], rules, true).system, 'cloud', 'a cut-over user routes to the migration target');
  assert.equal(chooseHome(['legacy'], { systemOrder: ['legacy', 'cloud'] }, true).system, 'legacy', 'no migration configured');
});

test('two systems claiming an address: one record from the winner, one conflict, deterministic whatever the input order', () => {
  const a = [person('cloud', 'x@e.com', { displayName: 'Cloud X' }), person('legacy', 'x@e.com', { displayName: 'Legacy X' }), person('cloud', 'y@e.com')];
  const r1 = unify(a, rules, new Set());
  const r2 = unify([...a].reverse(), rules, new Set());
  assert.deepEqual(r1, r2);
  const x = r1.people.find((p) => p.address === 'x@e.com')!;
  assert.equal(x.home.system, 'legacy');
  assert.equal(x.entry.displayName, 'Legacy X');
  assert.deepEqual(x.claimants, ['legacy', 'cloud']);
  assert.deepEqual(r1.conflicts.map((c) => [c.kind, c.address, c.winner]), [['address-claimed', 'x@e.com', 'legacy']]);
});

test('aliases: a primary address keeps its own; a shared alias goes to the higher-ranked home; both reported', () => {
  const r = unify([
    person('legacy', 'a@e.com', { aliases: ['b@e.com', 'shared@e.com'] }),
    person('cloud', 'b@e.com', { aliases: ['shared@e.com', 'own@e.com'] }),
  ], rules, new Set());
  const a = r.people.find((p) => p.address === 'a@e.com')!;
  const b = r.people.find((p) => p.address === 'b@e.com')!;
  assert.deepEqual(a.aliases, ['shared@e.com']);
  assert.deepEqual(b.aliases, ['own@e.com']);
  assert.deepEqual(r.conflicts.map((c) => [c.kind, c.address, c.winner]), [
    ['alias-claimed', 'b@e.com', null],
    ['alias-claimed', 'shared@e.com', 'legacy'],
  ]);
});

test('the same address twice in one system: first by source id, reported', () => {
  const r = unify([person('legacy', 'd@e.com', { sourceId: 'uid=z' }), person('legacy', 'd@e.com', { sourceId: 'uid=a' })], rules, new Set());
  assert.equal(r.people.length, 1);
  assert.equal(r.people[0]!.entry.sourceId, 'uid=a');
  assert.equal(r.conflicts[0]!.kind, 'duplicate-in-system');
});
