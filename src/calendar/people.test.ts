import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/errors.js';
import { DirectoryFirstResolver, PersonResolver, normalizeAddress, parseUsersCsv } from './people.js';

describe('parseUsersCsv', () => {
  it('reads rows with and without a header, quoted names and both alias separators', () => {
    const rows = parseUsersCsv('address,name,aliases\r\nAlice@Example.com,"Smith, Alice",a.smith@example.com; al@example.com\n# c\n\nbob@example.com,Bob,b@example.com bobby@example.com\n');
    assert.deepEqual(rows, [
      { address: 'alice@example.com', name: 'Smith, Alice', aliases: ['a.smith@example.com', 'al@example.com'] },
      { address: 'bob@example.com', name: 'Bob', aliases: ['b@example.com', 'bobby@example.com'] },
    ]);
    assert.equal(parseUsersCsv('carol@example.com').length, 1);
  });
  it('names the line of a bad row', () => {
    assert.throws(() => parseUsersCsv('a@example.com\nnot-an-address,x', 'legacy.csv'), /legacy\.csv line 2/);
  });
});

describe('normalizeAddress', () => {
  it('lower-cases and strips mailto:', () => assert.equal(normalizeAddress('mailto:Bob@Example.COM').address, 'bob@example.com'));
  for (const bad of ['bob', '@example.com', 'bob@', 'a/b@example.com', '..@example.com', 'a@b@c']) {
    it(`refuses ${bad}`, () => assert.throws(() => normalizeAddress(bad), (e: unknown) => MbError.is(e, 'CALENDAR_ADDRESS_INVALID')));
  }
});

describe('PersonResolver', () => {
  const legacy = parseUsersCsv('alice@example.com,Alice,ali@example.com\n');
  const cloud = parseUsersCsv('bob@example.com,Bob,\n');

  it('finds listed addresses and aliases (looked up under the primary address)', () => {
    const r = new PersonResolver([{ name: 'legacy', users: legacy, hasSource: true }, { name: 'cloud', users: cloud, hasSource: true }], ['example.com']);
    assert.deepEqual(r.resolve('Bob@example.com'), { kind: 'system', system: 'cloud', person: { address: 'bob@example.com', local: 'bob', domain: 'example.com' }, via: 'users' });
    const alias = r.resolve('ali@example.com');
    assert.equal(alias.kind === 'system' && alias.person.address, 'alice@example.com');
    assert.equal(r.resolve('nobody@example.com').kind, 'unknown');
  });
  it('uses the domain only when exactly one system with a source has no list', () => {
    const one = new PersonResolver([{ name: 'legacy', users: legacy, hasSource: true }, { name: 'cloud', hasSource: true }], ['example.com']);
    const r = one.resolve('zed@example.com');
    assert.equal(r.kind === 'system' && `${r.system}/${r.via}`, 'cloud/domain');
    assert.equal(one.resolve('zed@elsewhere.org').kind, 'unknown');
    const two = new PersonResolver([{ name: 'legacy', hasSource: true }, { name: 'cloud', hasSource: true }], ['example.com']);
    const amb = two.resolve('zed@example.com');
    assert.equal(amb.kind, 'unknown');
    assert.match(amb.kind === 'unknown' ? amb.reason : '', /legacy and cloud/);
  });
  it('uses routing domains', () => {
    const r = new PersonResolver([{ name: 'legacy', hasSource: true, routingDomain: 'legacy.example.com' }, { name: 'cloud', hasSource: true }], ['example.com']);
    const res = r.resolve('x@legacy.example.com');
    assert.equal(res.kind === 'system' && res.system, 'legacy');
  });
});

it('the unified directory answers first; the users CSV and domain rules cover the rest', async () => {
  const csv = new PersonResolver([{ name: 'legacy', hasSource: true, users: [{ address: 'old@example.com', name: 'Old', aliases: [] }] }, { name: 'cloud', hasSource: true }], ['example.com']);
  const asked: string[] = [];
  const r = new DirectoryFirstResolver(async (a) => {
    asked.push(a);
    return a === 'moved@example.com' || a === 'alias@example.com' ? { system: 'cloud', primary: 'moved@example.com' } : null;
  }, csv);
  assert.deepEqual(await r.resolve('Alias@Example.com'), { kind: 'system', system: 'cloud', person: { address: 'moved@example.com', local: 'moved', domain: 'example.com' }, via: 'directory' });
  assert.deepEqual(asked, ['alias@example.com'], 'asked with the normalized address');
  const fallback = await r.resolve('old@example.com');
  assert.equal(fallback.kind === 'system' && fallback.via, 'users');
  await assert.rejects(async () => r.resolve('not an address'), /not an address/);
});
