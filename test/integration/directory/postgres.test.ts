/**
 * The same sync on a PostgreSQL store (several nodes share one): the directory
 * tables and their upserts are dialect-neutral, and an unchanged second run
 * writes nothing there either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRecipient, showRecord } from '../../../src/directory/index.js';
import { useLab } from '../../harness/index.js';
import { freshDatabases } from '../store/pg.js';
import { makeTree } from './helpers.js';

const lab = await useLab(undefined, { only: ['ldap', 'postgres'] });
const freshDatabase = await freshDatabases();

test('postgres store: full sync, conflict, incremental run with no writes, show', async (t) => {
  const tr = await makeTree(lab, { postgres: await freshDatabase() });
  t.after(() => tr.close());
  assert.equal(tr.store.dialect, 'postgres');
  const many = Array.from({ length: 250 }, (_, i) => ({ uid: `pg${i}`, cn: `Pg ${i}`, mail: tr.addr(`pg${i}`), aliases: [tr.addr(`alias${i}`)] }));
  for (const p of many) await tr.add('legacy', p);
  await tr.add('cloud', { uid: 'both', cn: 'Both Cloud', mail: tr.addr('pg0') });
  await tr.add('cloud', { uid: 'c1', cn: 'C1', mail: tr.addr('c1') });
  const r1 = await tr.sync();
  assert.equal(r1.status, 'ok', JSON.stringify(r1.errors));
  assert.equal(r1.diff.people.add.length, 251);
  assert.equal(r1.diff.contacts.add.length, 250, '249 legacy people into cloud, c1 into legacy; pg0 is claimed by both');
  assert.equal(r1.diff.conflicts.filter((c) => c.kind === 'address-claimed').length, 1);
  const r2 = await tr.sync();
  assert.equal(r2.writes.total, 0);
  const route = await resolveRecipient(tr.store, tr.addr('alias7'));
  assert.ok(route.kind === 'system' && route.name === 'legacy' && route.record.address === tr.addr('pg7'));
  const shown = await showRecord(tr.store, tr.addr('pg0'), tr.config);
  assert.deepEqual(shown.sources.map((s) => s.system), ['cloud', 'legacy']);
  assert.equal(shown.conflicts[0]?.kind, 'address-claimed');
});
