import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareMarks, deltaMark, effectiveOverlap, highestMark, markKind, sinceFilter, sinceValue } from './delta.js';
import { attributeMap } from './mapping.js';

const CSN = (t: string, n = '000000') => `${t}.123456Z#${n}#000#000000`;

test('deltaMark: the first change-mark attribute, only when every stored entry has a mark of its syntax', () => {
  const openldap = attributeMap('openldap', {});
  assert.deepEqual(deltaMark(openldap, [CSN('20261122101010'), CSN('20261122101011')]), { attribute: 'entryCSN', kind: 'csn' });
  // One entry without a mark could change unseen; a modifyTimestamp where a CSN is expected means another server.
  assert.equal(deltaMark(openldap, [CSN('20261122101010'), null]), null);
  assert.equal(deltaMark(openldap, [CSN('20261122101010'), '20261122101010Z']), null);
  assert.equal(deltaMark(openldap, []), null, 'nothing stored: nothing to start from');
  const ad = attributeMap('ad', {});
  assert.deepEqual(deltaMark(ad, ['12345', '99']), { attribute: 'uSNChanged', kind: 'usn' });
  assert.equal(deltaMark(ad, ['12a']), null);
  const ts = attributeMap('openldap', { changeMark: 'modifyTimestamp' });
  assert.deepEqual(deltaMark(ts, ['20261122101010Z', '20261122101010.5Z']), { attribute: 'modifyTimestamp', kind: 'time' });
  // An attribute a read by change does not know (no ordering rule known): list the marks instead.
  assert.equal(deltaMark(attributeMap('openldap', { changeMark: 'description' }), ['x']), null);
  assert.equal(markKind(attributeMap('openldap', { changeMark: 'description' })), null);
  assert.equal(markKind(ad), 'usn');
});

test('marks order as numbers (USN) or as text (CSN, GeneralizedTime); the highest ignores foreign values', () => {
  assert.ok(compareMarks('usn', '99', '100') < 0, 'numerically, not as text');
  assert.ok(compareMarks('usn', '18446744073709551615', '9007199254740993') > 0, 'beyond 2^53');
  assert.ok(compareMarks('csn', CSN('20261122101010'), CSN('20261122101011')) < 0);
  assert.equal(compareMarks('csn', CSN('20261122101010'), CSN('20261122101010')), 0);
  assert.equal(highestMark('usn', '100', ['99', null, '101', 'junk', undefined]), '101');
  assert.equal(highestMark('usn', '100', ['99']), '100');
  assert.equal(highestMark('csn', null, [CSN('20261122101011'), CSN('20261122101010'), '20261122101012Z']), CSN('20261122101011'));
  assert.equal(highestMark('time', null, []), null);
});

test('sinceValue: the overlap is taken off the time of a CSN or a timestamp, across day and year ends; a USN has none', () => {
  const csn = { attribute: 'entryCSN', kind: 'csn' as const };
  const ts = { attribute: 'modifyTimestamp', kind: 'time' as const };
  const usn = { attribute: 'uSNChanged', kind: 'usn' as const };
  assert.equal(sinceValue(csn, CSN('20261122101010'), 120_000), '20261122100810.000000Z#000000#000#000000');
  assert.equal(sinceValue(csn, CSN('20270101000030'), 120_000), '20261231235830.000000Z#000000#000#000000');
  assert.equal(sinceValue(ts, '20261122101010.5Z', 60_000), '20261122100910Z');
  assert.equal(sinceValue(usn, '5000', 120_000), '5000');
  assert.equal(sinceValue(csn, CSN('20261122101010'), 0), CSN('20261122101010'));
});

test('sinceFilter: at or above less the overlap; without one, strictly above for one-per-change marks, at or above for timestamps', () => {
  const csn = { attribute: 'entryCSN', kind: 'csn' as const };
  const ts = { attribute: 'modifyTimestamp', kind: 'time' as const };
  const usn = { attribute: 'uSNChanged', kind: 'usn' as const };
  assert.equal(sinceFilter(csn, CSN('20261122101010'), 120_000), '(entryCSN>=20261122100810.000000Z#000000#000#000000)');
  assert.equal(sinceFilter(csn, CSN('20261122101010'), 0), `(&(entryCSN>=${CSN('20261122101010')})(!(entryCSN=${CSN('20261122101010')})))`);
  assert.equal(sinceFilter(usn, '77', 0), '(&(uSNChanged>=77)(!(uSNChanged=77)))');
  assert.equal(sinceFilter(ts, '20261122101010Z', 0), '(modifyTimestamp>=20261122101010Z)', 'several changes share a second');
  // A value with filter metacharacters is escaped (RFC 4515), never spliced in raw.
  assert.equal(sinceFilter(usn, '1)(x=*', 0).includes('1)(x=*'), false);
});

test('effectiveOverlap: none for CSNs that all carry server ID 0 (one provider); the configured one otherwise', () => {
  const csn = { attribute: 'entryCSN', kind: 'csn' as const };
  const ts = { attribute: 'modifyTimestamp', kind: 'time' as const };
  assert.equal(effectiveOverlap(csn, [CSN('20261122101010'), null, '20261122101011.000001Z#000000#000#000000'], 120_000), 0);
  assert.equal(effectiveOverlap(csn, [CSN('20261122101010'), '20261122101011.000001Z#000000#001#000000'], 120_000), 120_000, 'a second provider');
  assert.equal(effectiveOverlap(csn, ['20261122101011.000001Z#000000#002#000000'], 120_000), 120_000, 'a provider with a serverID');
  assert.equal(effectiveOverlap(ts, ['20261122101010Z'], 120_000), 120_000, 'timestamps: the servers\' clocks');
});
