import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MbError } from '../core/index.js';
import { CsvResolver, parsePeopleCsv, type RecipientResolver } from './resolver.js';
import { Router } from './router.js';

test('people CSV: header optional, aliases by space or semicolon, quoted names', () => {
  const m = parsePeopleCsv('address,name,aliases\nann@example.com,"Ann, A.",a@example.com;ann.a@example.com  aa@example.com\nBob@Example.com,Bob\n', 'legacy', 'f.csv');
  assert.equal(m.get('ann@example.com')?.system, 'legacy');
  assert.match(m.get('aa@example.com')!.via, /alias of ann@example.com/);
  assert.ok(m.get('ann.a@example.com'));
  assert.ok(m.get('bob@example.com'));
  const noHeader = parsePeopleCsv('c@example.com,C,\n', 'cloud', 'g.csv');
  assert.ok(noHeader.get('c@example.com'));
});

test('CSV resolver: known, alias, unknown, external; a missing file is transient', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-res-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'l.csv'), 'ann@example.com,Ann,ann.alias@example.com\n');
  writeFileSync(join(dir, 'c.csv'), 'address,name,aliases\nbob@example.com,Bob,\n');
  const r = new CsvResolver({ legacy: join(dir, 'l.csv'), cloud: join(dir, 'c.csv') }, ['example.com']);
  assert.deepEqual((await r.resolve('ANN@example.com')).kind, 'system');
  assert.equal((await r.resolve('ann.alias@example.com') as { name: string }).name, 'legacy');
  assert.equal((await r.resolve('bob@example.com') as { name: string }).name, 'cloud');
  assert.equal((await r.resolve('nobody@example.com')).kind, 'unknown');
  assert.equal((await r.resolve('x@other.org')).kind, 'external');
  const broken = new CsvResolver({ legacy: join(dir, 'missing.csv') }, ['example.com']);
  await assert.rejects(broken.resolve('ann@example.com'), (e: unknown) => MbError.is(e, 'GATEWAY_DIRECTORY_UNAVAILABLE') && e.retry === 'transient');
});

test('CSV resolver: the files are looked at once per interval, and a change is picked up after it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-res-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'l.csv');
  writeFileSync(file, 'ann@example.com,Ann,\n');
  let now = 1_000_000;
  const r = new CsvResolver({ legacy: file }, ['example.com'], 1000, () => now);
  assert.equal((await r.resolve('bob@example.com')).kind, 'unknown');
  writeFileSync(file, 'ann@example.com,Ann,\nbob@example.com,Bob,\n');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  now += 500;
  assert.equal((await r.resolve('bob@example.com')).kind, 'unknown', 'within the interval: the loaded table');
  now += 600;
  assert.equal((await r.resolve('bob@example.com')).kind, 'system', 'after it: re-read');
});

const fixed: RecipientResolver = {
  source: 'test',
  resolve: (a) => Promise.resolve(a.startsWith('ann@') ? { kind: 'system', name: 'legacy', via: 'address ann@example.com' } : { kind: 'unknown' }),
};

test('central: known to its system, unknown refused, other domains external', async () => {
  const r = new Router({ domains: ['example.com'], routing: { mode: 'central' }, resolver: fixed });
  assert.deepEqual(await r.route('ann@example.com'), { kind: 'system', system: 'legacy', deliverTo: 'ann@example.com', reason: 'address ann@example.com in test: home system legacy' });
  assert.equal((await r.route('zed@example.com')).kind, 'unknown');
  assert.equal((await r.route('x@other.org')).kind, 'external');
});

test('chaining: unknown recipients go to the overflow system', async () => {
  const r = new Router({ domains: ['example.com'], routing: { mode: 'chaining', overflowSystem: 'cloud' }, resolver: fixed });
  const route = await r.route('zed@example.com');
  assert.equal(route.kind === 'system' && route.system, 'cloud');
  assert.match(route.reason, /chaining/);
});

test('selective: rewritten to the routing domain; routing domains route straight to their system', async () => {
  const r = new Router({ domains: ['example.com'], routing: { mode: 'selective', routingDomains: { legacy: 'legacy.example.com' } }, resolver: fixed });
  const a = await r.route('ann@example.com');
  assert.equal(a.kind === 'system' && a.deliverTo, 'ann@legacy.example.com');
  const b = await r.route('zed@legacy.example.com');
  assert.equal(b.kind === 'system' && b.system, 'legacy');
  assert.equal(r.isLocalDomain('LEGACY.example.com'), true);
  assert.equal(r.isLocalDomain('other.org'), false);
});

test('directory-or-CSV: the CSV answers until the directory holds people, then the directory', async () => {
  const { DirectoryOrCsvResolver } = await import('./resolver.js');
  let count = 0;
  let t = 0;
  const store = { users: { count: async () => count } } as unknown as ConstructorParameters<typeof DirectoryOrCsvResolver>[0];
  const answer = (name: string) => ({ source: name, resolve: async () => ({ kind: 'system' as const, name, via: name }) });
  const r = new DirectoryOrCsvResolver(store, answer('directory'), answer('csv'), () => t);
  assert.equal((await r.resolve('a@example.com')).kind === 'system' && r.source, 'csv');
  count = 5;
  assert.equal(r.source, 'csv', 'the emptiness answer is kept a few seconds');
  t += 6000;
  const after = await r.resolve('a@example.com');
  assert.equal(after.kind === 'system' && after.name, 'directory');
  assert.equal(r.source, 'directory');
});
