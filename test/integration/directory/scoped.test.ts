/**
 * Scoped incremental runs (src/directory/scoped.ts) against the lab's real
 * slapd: an incremental run re-unifies only the addresses its changes touch,
 * and must leave exactly the unified directory, contacts and conflicts a full
 * run computes. Each scoped run here is followed by a `--full` run on the same
 * store, which must find nothing to change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { sql } from 'kysely';
import type { SyncResult } from '../../../src/directory/index.js';
import { packedRows } from '../../../src/directory/scoped.js';
import { ALIAS_ATTRIBUTE, useLab } from '../../harness/index.js';
import { makeTree, type Tree } from './helpers.js';

const lab = await useLab(undefined, { only: ['ldap'] });

const conflictSet = (r: SyncResult) => r.diff.conflicts.map((c) => `${c.kind}|${c.address}|${c.winner ?? '-'}`).sort();

/** What the store holds of the unified directory, comparable between runs. */
async function unified(tr: Tree): Promise<string[]> {
  const users = await tr.store.db.selectFrom('users').select(['address', 'home_system', 'aliases', 'content_hash']).orderBy('address').execute();
  const contacts = await tr.store.db.selectFrom('directory_contacts').select(['system', 'address', 'dn', 'content_hash']).orderBy('system').orderBy('address').execute();
  const conflicts = await tr.store.db.selectFrom('directory_conflicts').select(['key', 'winner', 'detail']).orderBy('key').execute();
  return [...users.map((u) => JSON.stringify(u)), ...contacts.map((c) => JSON.stringify(c)), ...conflicts.map((c) => JSON.stringify(c))];
}

/** A full run after a scoped one: same conflicts, and nothing to write besides the read state it records. */
async function fullAgrees(tr: Tree, scoped: SyncResult): Promise<void> {
  const before = await unified(tr);
  const full = await tr.sync({ full: true });
  assert.equal(full.status, 'ok');
  assert.equal(full.scoped, undefined, 'a --full run unifies everyone');
  const d = full.diff;
  assert.deepEqual([d.people.add, d.people.change, d.people.delete, d.contacts.add, d.contacts.change, d.contacts.delete].map((x) => x.length), [0, 0, 0, 0, 0, 0],
    `the full run found something the scoped run missed: ${JSON.stringify(d).slice(0, 600)}`);
  assert.equal(full.writes.directory, 0);
  assert.equal(full.writes.store, 2, 'only the two systems\' read state (a full read) is written');
  assert.deepEqual(conflictSet(full), conflictSet(scoped));
  assert.deepEqual(await unified(tr), before);
}

async function modify(tr: Tree, dn: string, attribute: string, values: string[]): Promise<void> {
  const c = await tr.client();
  try {
    await c.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values }) })]);
  } finally { await c.unbind(); }
}

test('scoped runs: conflicts appear, are reported again and resolve like a full run; a full run afterwards changes nothing', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const ann = tr.addr('ann');
  const shared = tr.addr('shared');
  await tr.add('legacy', { uid: 'ann', cn: 'Ann', mail: ann, title: 'CFO' });
  await tr.add('legacy', { uid: 'bob', cn: 'Bob', mail: tr.addr('bob'), aliases: [shared] });
  const cid = await tr.add('cloud', { uid: 'cid', cn: 'Cid', mail: tr.addr('cid') });
  for (let i = 0; i < 12; i++) {
    await tr.add('legacy', { uid: `l${i}`, cn: `L ${i}`, mail: tr.addr(`l${i}`) });
    await tr.add('cloud', { uid: `c${i}`, cn: `C ${i}`, mail: tr.addr(`c${i}`) });
  }
  const first = await tr.sync();
  assert.equal(first.status, 'ok');
  assert.equal(first.scoped, undefined, 'the first run reads and unifies everyone');

  const idle = await tr.sync();
  assert.deepEqual(idle.scoped, { addresses: 0, entries: 0 }, 'nothing changed: nothing re-unified');
  assert.equal(idle.writes.total, 0);

  // Two conflicts appear: cloud gets a person with ann's address, cid lists bob's alias.
  const ann2 = await tr.add('cloud', { uid: 'ann2', cn: 'Ann in cloud', mail: ann });
  await modify(tr, cid, ALIAS_ATTRIBUTE, [tr.addr('cid'), shared]);
  const r = await tr.sync();
  assert.equal(r.status, 'ok', JSON.stringify(r.errors));
  assert.ok(r.scoped && r.scoped.addresses < 10, `only the touched addresses re-unified: ${JSON.stringify(r.scoped)}`);
  assert.deepEqual(conflictSet(r), [`address-claimed|${ann}|legacy`, `alias-claimed|${shared}|legacy`]);
  // ann is claimed by both systems now: neither gets a contact for her.
  assert.ok(r.diff.contacts.delete.some((x) => x.address === ann && x.system === 'cloud'), JSON.stringify(r.diff.contacts));
  const shown = await tr.store.users.get(shared);
  assert.equal(shown?.address, tr.addr('bob'), 'the alias stays with the higher-ranked home');
  await fullAgrees(tr, r);

  // An idle scoped run reports the open conflicts again, as a full run does, and writes nothing.
  const again = await tr.sync();
  assert.ok(again.scoped);
  assert.deepEqual(conflictSet(again), conflictSet(r));
  assert.equal(again.writes.total, 0);

  // Both resolved: ann2 deleted, cid drops the alias; bob keeps it.
  const c = await tr.client();
  try { await c.del(ann2); } finally { await c.unbind(); }
  await modify(tr, cid, ALIAS_ATTRIBUTE, [tr.addr('cid')]);
  const done = await tr.sync();
  assert.equal(done.status, 'ok');
  assert.ok(done.scoped);
  assert.deepEqual(conflictSet(done), []);
  assert.deepEqual(await tr.store.db.selectFrom('directory_conflicts').select('key').execute(), [], 'resolved conflicts removed from the store');
  assert.ok(done.diff.contacts.add.some((x) => x.address === ann && x.system === 'cloud'), 'ann gets her contact in cloud back');
  await fullAgrees(tr, done);

  // Bob's alias moves to a new cloud person's primary address: the alias-claimed conflict comes from an added entry.
  await tr.add('cloud', { uid: 'sha', cn: 'Shared', mail: shared });
  const moved = await tr.sync();
  assert.deepEqual(conflictSet(moved), [`alias-claimed|${shared}|-`]);
  assert.equal((await tr.store.users.get(shared))?.address, shared, 'a primary address keeps its own');
  await fullAgrees(tr, moved);
});

test('scoped runs: a cut-over (and undone) person is re-homed and its contacts follow, without any entry changing', async (t) => {
  const tr = await makeTree(lab, { extraYaml: 'migration: { from: legacy, to: cloud }' });
  t.after(() => tr.close());
  const dan = tr.addr('dan');
  await tr.add('legacy', { uid: 'dan', cn: 'Dan', mail: dan });
  // Enough people that one contact deleted stays under the deletion guard's 10%.
  for (let i = 0; i < 12; i++) {
    await tr.add('cloud', { uid: `c${i}`, cn: `C ${i}`, mail: tr.addr(`c${i}`) });
    await tr.add('legacy', { uid: `l${i}`, cn: `L ${i}`, mail: tr.addr(`l${i}`) });
  }
  assert.equal((await tr.sync()).status, 'ok');
  assert.equal((await tr.store.users.get(dan))?.homeSystem, 'legacy');

  // The cutover marks the user (the migration engine's write); the directory is unchanged.
  await sql`update users set migration_state = 'cutover' where address = ${dan}`.execute(tr.store.db);
  const r = await tr.sync();
  assert.ok(r.scoped, 'an incremental, scoped run');
  assert.equal((await tr.store.users.get(dan))?.homeSystem, 'cloud');
  assert.ok(r.diff.contacts.delete.some((x) => x.address === dan && x.system === 'cloud'), 'no longer a contact in its new home');
  // Still a person in legacy (the admin has not moved the entry yet): no contact there either.
  assert.ok(!r.diff.contacts.add.some((x) => x.address === dan), JSON.stringify(r.diff.contacts.add));
  await fullAgrees(tr, r);

  // Undone: back to legacy.
  await sql`update users set migration_state = 'pending' where address = ${dan}`.execute(tr.store.db);
  const back = await tr.sync();
  assert.ok(back.scoped);
  assert.equal((await tr.store.users.get(dan))?.homeSystem, 'legacy');
  assert.ok(back.diff.contacts.add.some((x) => x.address === dan && x.system === 'cloud'), 'the cloud contact comes back');
  await fullAgrees(tr, back);
});

test('packedRows: every row in one value, null (row-by-row select instead) when a value holds a separator', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const cols = ['system', 'address', 'dn', 'content_hash', 'person_hash', 'source_system'] as const;
  assert.deepEqual(await packedRows(tr.store, 'directory_contacts', cols), []);
  const row = (address: string, dn: string, personHash: string | null) => ({
    system: 'cloud', address, dn, source_system: 'legacy', content_hash: 'h', person_hash: personHash, created_at: 1, updated_at: 1,
  });
  await tr.store.db.insertInto('directory_contacts').values([row('a@e.com', 'mail=a@e.com,ou=c', null), row('b@e.com', 'mail=b@e.com,ou=c', 'p')]).execute();
  const got = await packedRows(tr.store, 'directory_contacts', cols);
  assert.deepEqual(got?.sort(), [['cloud', 'a@e.com', 'mail=a@e.com,ou=c', 'h', null, 'legacy'], ['cloud', 'b@e.com', 'mail=b@e.com,ou=c', 'h', 'p', 'legacy']]);
  for (const odd of ['\u001f', '\u001e']) {
    await tr.store.db.insertInto('directory_contacts').values(row(`odd${odd.charCodeAt(0)}@e.com`, `cn=x${odd}y,ou=c`, null)).execute();
    assert.equal(await packedRows(tr.store, 'directory_contacts', cols), null, `a value with \\u00${odd.charCodeAt(0).toString(16)}`);
    await tr.store.db.deleteFrom('directory_contacts').where('address', '=', `odd${odd.charCodeAt(0)}@e.com`).execute();
  }
});
