import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markAttributes } from './incremental.js';
import { attributeMap } from './mapping.js';
import { entryKey, bySystem } from './plan.js';
import type { LoadedState, StoredEntry } from './state.js';

function state(marks: [string, string | null][]): LoadedState {
  const entries = new Map<string, StoredEntry>();
  marks.forEach(([system, mark], i) => {
    entries.set(entryKey(system, `uid=${i}`), {
      system, sourceId: `uid=${i}`, contentHash: 'h', changeMark: mark,
      row: { address: `p${i}@e.com`, aliases: '[]', displayName: null, attributes: '{}', origins: '{}' },
    });
  });
  return { users: new Map(), entries, contacts: new Map(), sources: new Map() };
}

const CSN = '20261122165523.410720Z#000000#000#000000';

test('listing marks: entryCSN alone only when every stored mark of the system came from entryCSN', () => {
  const map = attributeMap('openldap');
  assert.deepEqual(markAttributes(map, 'legacy', state([['legacy', CSN], ['legacy', null], ['cloud', '20261122165523Z']])), ['entryCSN']);
  // One stored mark from modifyTimestamp: the listing must still ask for it, or that entry would list without a mark.
  assert.equal(markAttributes(map, 'cloud', state([['legacy', CSN], ['cloud', CSN], ['cloud', '20261122165523Z']])), undefined);
  // Nothing stored yet, AD (uSNChanged only), or a mapping that does not start with entryCSN: the map's attributes.
  assert.equal(markAttributes(map, 'legacy', state([])), undefined);
  assert.equal(markAttributes(attributeMap('ad'), 'legacy', state([['legacy', '12345']])), undefined);
  assert.equal(markAttributes(attributeMap('openldap', { changeMark: 'modifyTimestamp,entryCSN' }), 'legacy', state([['legacy', CSN]])), undefined);
});

test('bySystem indexes a store map per system, once per map', () => {
  const rows = new Map([['a', { system: 'legacy', address: 'x@e.com' }], ['b', { system: 'cloud', address: 'x@e.com' }], ['c', { system: 'legacy', address: 'y@e.com' }]]);
  const index = bySystem(rows, (r) => r.address);
  assert.deepEqual([...index.get('legacy')!.keys()], ['x@e.com', 'y@e.com']);
  assert.equal(index.get('cloud')!.get('x@e.com'), rows.get('b'));
  assert.equal(bySystem(rows, (r) => r.address), index, 'built once per map');
});
