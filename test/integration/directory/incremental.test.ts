/**
 * Incremental directory sync against the lab's real slapd (issue 5: "A run
 * with 100 changes among 100,000 people writes 100 objects"; here among 2,000).
 * The writes are counted three ways: the run's own counters, the objects whose
 * entryCSN changed in slapd, and SQLite's total_changes() on the store's
 * connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { sql } from 'kysely';
import { ldapAddLdif, useLab } from '../../harness/index.js';
import { makeTree, type Sys, type Tree } from './helpers.js';

const lab = await useLab(undefined, { only: ['ldap'] });

/** DN -> entryCSN of every object under base: what slapd says was written, independent of our counters. */
async function csns(tr: Tree, base: string): Promise<Map<string, string>> {
  const c = await tr.client();
  try {
    const r = await c.search(base, { scope: 'sub', filter: '(objectClass=*)', attributes: ['entryCSN'], paged: { pageSize: 500 } });
    return new Map(r.searchEntries.map((e) => [e.dn.toLowerCase(), String(e.entryCSN)]));
  } finally { await c.unbind(); }
}

/** Objects added, changed or removed between two snapshots. */
function written(before: Map<string, string>, after: Map<string, string>): number {
  let n = 0;
  for (const [dn, csn] of after) if (before.get(dn) !== csn) n++;
  for (const dn of before.keys()) if (!after.has(dn)) n++;
  return n;
}

/** Rows inserted, updated or deleted on the store's connection so far (SQLite). */
async function storeChanges(tr: Tree): Promise<number> {
  const r = await sql<{ n: number }>`select total_changes() as n`.execute(tr.store.db);
  return Number(r.rows[0]!.n);
}

async function snapshot(tr: Tree): Promise<Map<string, string>> {
  const all = new Map<string, string>();
  for (const s of ['legacy', 'cloud'] as const) for (const [k, v] of await csns(tr, tr.base[s])) all.set(k, v);
  return all;
}

function bulk(tr: Tree, system: Sys, n: number): string {
  return Array.from({ length: n }, (_, i) => [
    `dn: uid=${system[0]}${i},${tr.base[system]}`, 'objectClass: inetOrgPerson', `uid: ${system[0]}${i}`,
    `cn: ${system} ${i}`, `sn: S${i}`, `title: T${i % 7}`, `mail: ${tr.addr(`${system}${i}`)}`,
  ].join('\n')).join('\n\n') + '\n';
}

async function retitle(tr: Tree, dns: string[], title: string): Promise<void> {
  const c = await tr.client();
  try {
    for (const dn of dns) await c.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: [title] }) })]);
  } finally { await c.unbind(); }
}

test('100 changes among 2,000 people write 100 contacts and 300 store rows, reading only the 100 changed entries', async (t) => {
  const tr = await makeTree(lab, { directory: 'deleteThreshold: 5000' });
  t.after(() => tr.close());
  assert.equal(tr.store.dialect, 'sqlite');
  const perSystem = 1000;
  ldapAddLdif(lab.ldap!, bulk(tr, 'legacy', perSystem) + '\n' + bulk(tr, 'cloud', perSystem));

  const first = await tr.sync();
  assert.equal(first.status, 'ok', JSON.stringify(first.errors.slice(0, 3)));
  assert.equal(first.diff.contacts.add.length, 2 * perSystem);
  assert.equal(first.reads.legacy?.mode, 'full');
  assert.equal(first.reads.legacy?.reason, 'no earlier read');

  // Nothing changed. Reads are by change (entryCSN >= the newest mark seen), so this run reads back, once, the
  // contacts the first run wrote, finds them as written and writes nothing anywhere (only the run's own record
  // and each source's read position).
  let ldapBefore = await snapshot(tr);
  let rowsBefore = await storeChanges(tr);
  const idle = await tr.sync();
  assert.equal(idle.writes.total, 0);
  for (const s of ['legacy', 'cloud']) {
    const { since, ...counts } = idle.reads[s]!;
    assert.deepEqual(counts, { mode: 'incremental', people: 0, contacts: perSystem });
    // Marks above the newest one seen (no overlap in these tests), answered from slapd's entryCSN index.
    assert.match(since ?? '', /^\(&\(entryCSN>=\d{14}\.\d{6}Z#[0-9a-f#]+\)\(!\(entryCSN=\d{14}\.\d{6}Z#[0-9a-f#]+\)\)\)$/);
  }
  assert.equal(written(ldapBefore, await snapshot(tr)), 0, 'no object written in slapd');
  const runBookkeeping = (await storeChanges(tr)) - rowsBefore;
  assert.ok(runBookkeeping <= 4, `only the runs row and the read positions are written (${runBookkeeping} rows)`);
  // Read back as written (the store's hash of each): trusted, so nobody's record is recomputed.
  assert.deepEqual(idle.scoped, { addresses: 0, entries: 0 });
  // The next one reads nothing whole at all.
  const quiet = await tr.sync();
  assert.equal(quiet.writes.total, 0);
  for (const s of ['legacy', 'cloud']) assert.deepEqual({ ...quiet.reads[s], since: undefined }, { mode: 'incremental', people: 0, contacts: 0, since: undefined });

  // 100 people change their title, 50 in each system, spread over the OUs.
  const changed = { legacy: [] as string[], cloud: [] as string[] };
  for (const s of ['legacy', 'cloud'] as const) {
    for (let i = 0; i < 50; i++) changed[s].push(`uid=${s[0]}${i * 20 + 3},${tr.base[s]}`);
    await retitle(tr, changed[s], 'Changed');
  }
  ldapBefore = await snapshot(tr);
  rowsBefore = await storeChanges(tr);
  const r = await tr.sync();
  assert.equal(r.status, 'ok', JSON.stringify(r.errors.slice(0, 3)));
  for (const s of ['legacy', 'cloud']) {
    assert.equal(r.reads[s]?.mode, 'incremental');
    assert.equal(r.reads[s]?.people, 50, `${s}: only the changed entries are read whole`);
    // The contacts of the changed people are not read either: the store's row vouches that each holds what
    // the person's stored record makes (same content hash), so the change is computed from that record.
    assert.equal(r.reads[s]?.contacts, 0, `${s}: no contact read whole`);
  }
  assert.equal(r.diff.people.change.length, 100);
  assert.equal(r.diff.contacts.change.length, 100);
  assert.deepEqual(new Set(r.diff.contacts.change.map((x) => x.detail)), new Set(['title']));
  assert.equal(r.diff.people.add.length + r.diff.people.delete.length + r.diff.contacts.add.length + r.diff.contacts.delete.length, 0);
  assert.equal(r.writes.directory, 100);
  assert.equal(written(ldapBefore, await snapshot(tr)), 100, 'slapd: exactly 100 objects written');
  // Per changed person: its users row, its source entry and its contact row.
  assert.equal(r.writes.store, 300);
  assert.equal((await storeChanges(tr)) - rowsBefore, 300 + runBookkeeping, 'store: 300 rows written besides the run record');
  const c = (await tr.search(tr.contacts.cloud, `(mail=${tr.addr('legacy3')})`))[0]!;
  assert.equal(c.title, 'Changed');

  // And the run after that is quiet again: it reads back the 100 contacts written, as written.
  const again = await tr.sync();
  assert.equal(again.writes.total, 0);
  assert.equal(again.reads.legacy?.people, 0);
  assert.equal(again.reads.legacy?.contacts, 50);
});

test('incremental runs: a hand-deleted contact comes back at the full read, a hand-made object is reported, a hand edit is repaired, entries without mail stay skipped unread', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const ann = tr.addr('ann');
  const bob = tr.addr('bob');
  await tr.add('legacy', { uid: 'ann', cn: 'Ann', mail: ann, title: 'CFO' });
  await tr.add('cloud', { uid: 'bob', cn: 'Bob', mail: bob });
  for (let i = 0; i < 12; i++) await tr.add('cloud', { uid: `c${i}`, cn: `C ${i}`, mail: tr.addr(`c${i}`) });
  const c = await tr.client();
  try {
    await c.add(`uid=nomail,${tr.base.legacy}`, { objectClass: ['inetOrgPerson'], uid: 'nomail', cn: 'No Mail', sn: 'Mail' });
  } finally { await c.unbind(); }
  const r1 = await tr.sync();
  assert.equal(r1.status, 'ok');
  assert.deepEqual(r1.skipped.map((s) => s.reason), ['no mail address']);

  const r2 = await tr.sync();
  assert.deepEqual(r2.skipped.map((s) => [s.system, s.reason]), [['legacy', 'no mail address']], 'still reported');
  assert.equal(r2.reads.legacy?.people, 0, 'without reading the entry again');
  assert.equal(r2.writes.total, 0);

  // Our contact of ann deleted by hand in cloud: a read by change cannot see a deletion, so incremental runs
  // trust the store; the next full read (daily, or --full) adds it again.
  const annContact = `mail=${ann},${tr.contacts.cloud}`;
  const c2 = await tr.client();
  try { await c2.del(annContact); } finally { await c2.unbind(); }
  const r3 = await tr.sync();
  assert.equal(r3.reads.cloud?.mode, 'incremental');
  assert.deepEqual(r3.diff.contacts.add, []);
  const r3full = await tr.sync({ full: true });
  assert.equal(r3full.reads.cloud?.mode, 'full');
  assert.deepEqual(r3full.diff.contacts.add.map((x) => [x.system, x.address]), [['cloud', ann]]);
  assert.equal((await tr.search(tr.contacts.cloud, `(mail=${ann})`))[0]?.title, 'CFO');

  // A hand-made object with bob's address in legacy's contacts: a conflict; ours stays untouched.
  const c3 = await tr.client();
  try {
    await c3.add(`cn=Bob by hand,${tr.contacts.legacy}`, { objectClass: ['inetOrgPerson'], cn: 'Bob by hand', sn: 'Hand', mail: bob });
  } finally { await c3.unbind(); }
  const r4 = await tr.sync();
  assert.equal(r4.reads.legacy?.mode, 'incremental');
  assert.deepEqual(r4.diff.conflicts.filter((x) => x.kind === 'foreign-object').map((x) => x.address), [bob]);
  assert.equal(r4.writes.directory, 0);
  assert.equal((await tr.search(tr.contacts.legacy, `(mail=${bob})`)).length, 2);

  // A value of our contact edited by hand: the edit is a change, read by the next incremental run and repaired.
  await retitle(tr, [annContact], 'edited by hand');
  const r5 = await tr.sync();
  assert.equal(r5.reads.cloud?.mode, 'incremental');
  assert.equal(r5.reads.cloud?.contacts, 1);
  assert.deepEqual(r5.diff.contacts.change.map((x) => [x.address, x.detail]), [[ann, 'title']]);
  assert.equal((await tr.search(tr.contacts.cloud, `(mail=${ann})`))[0]?.title, 'CFO');
  const full = await tr.sync({ full: true });
  assert.equal(full.reads.cloud?.reason, 'asked for (--full)');
  assert.equal(full.writes.directory, 0, 'a full read afterwards finds nothing to repair');
});

test('a changed source configuration reads that source whole', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  await tr.add('legacy', { uid: 'ann', cn: 'Ann', mail: tr.addr('ann'), title: 'Boss' });
  await tr.add('legacy', { uid: 'amy', cn: 'Amy', mail: tr.addr('amy') });
  await tr.add('cloud', { uid: 'bob', cn: 'Bob', mail: tr.addr('bob') });
  await tr.sync();
  const { runDirectorySync } = await import('../../../src/directory/index.js');
  const { silentLogger } = await import('../../../src/observe/index.js');
  const legacy = tr.config.systems.legacy!;
  const narrowed = {
    ...tr.config,
    systems: { ...tr.config.systems, legacy: { ...legacy, ldap: { ...legacy.ldap!, filter: '(&(objectClass=inetOrgPerson)(title=*))' } } },
  };
  const r = await runDirectorySync({ store: tr.store, log: silentLogger(), settings: narrowed }, { allowDeletes: true });
  assert.equal(r.reads.legacy?.mode, 'full');
  assert.equal(r.reads.legacy?.reason, 'source configuration changed');
  assert.equal(r.reads.cloud?.mode, 'incremental');
  assert.deepEqual(r.diff.people.delete.map((p) => p.address), [tr.addr('amy')]);
  const again = await runDirectorySync({ store: tr.store, log: silentLogger(), settings: narrowed });
  assert.equal(again.reads.legacy?.mode, 'incremental');
  assert.equal(again.writes.total, 0);
});

test('reads by change with an overlap: entries changed shortly before the last run are read again and count as unchanged', async (t) => {
  // Timestamps (the servers' clocks) keep the overlap; the lab's entryCSNs come from one provider and need none (below).
  const tr = await makeTree(lab, { directory: 'changeOverlap: 10m', ldap: 'attributes: { changeMark: modifyTimestamp }' });
  t.after(() => tr.close());
  for (const u of ['ann', 'amy', 'abe']) await tr.add('legacy', { uid: u, cn: u, mail: tr.addr(u), title: 'Staff' });
  for (const u of ['bob', 'bea']) await tr.add('cloud', { uid: u, cn: u, mail: tr.addr(u) });
  assert.equal((await tr.sync()).status, 'ok');

  // Everything changed within the last 10 minutes: read again whole, found unchanged, nothing written.
  const idle = await tr.sync();
  assert.equal(idle.reads.legacy?.mode, 'incremental');
  assert.match(idle.reads.legacy?.since ?? '', /^\(modifyTimestamp>=\d{14}Z\)$/);
  assert.equal(idle.reads.legacy?.people, 3);
  assert.equal(idle.reads.cloud?.people, 2);
  assert.equal(idle.writes.total, 0);
  assert.equal(idle.scoped?.entries, 0, 'read again, but nothing to re-unify');
  const d = idle.diff;
  assert.equal(d.people.add.length + d.people.change.length + d.people.delete.length + d.contacts.add.length + d.contacts.change.length + d.contacts.delete.length, 0);

  // One real change among them is the only write.
  await retitle(tr, [`uid=amy,${tr.base.legacy}`], 'Chief');
  const r = await tr.sync();
  assert.deepEqual(r.diff.people.change.map((p) => p.address), [tr.addr('amy')]);
  assert.equal(r.writes.directory, 1);
  assert.equal((await tr.search(tr.contacts.cloud, `(mail=${tr.addr('amy')})`))[0]?.title, 'Chief');
});

test('reads by change on modifyTimestamp (servers without entryCSN): at or above the newest second seen', async (t) => {
  const tr = await makeTree(lab, { ldap: 'attributes: { changeMark: modifyTimestamp }' });
  t.after(() => tr.close());
  await tr.add('legacy', { uid: 'ann', cn: 'Ann', mail: tr.addr('ann'), title: 'Staff' });
  await tr.add('cloud', { uid: 'bob', cn: 'Bob', mail: tr.addr('bob') });
  assert.equal((await tr.sync()).status, 'ok');
  await retitle(tr, [`uid=ann,${tr.base.legacy}`], 'Chief');
  const r = await tr.sync();
  assert.equal(r.reads.legacy?.mode, 'incremental');
  // Whole seconds: several changes can share one, so the newest second seen is asked for again.
  assert.match(r.reads.legacy?.since ?? '', /^\(modifyTimestamp>=\d{14}Z\)$/);
  assert.deepEqual(r.diff.people.change.map((p) => p.address), [tr.addr('ann')]);
  assert.equal((await tr.search(tr.contacts.cloud, `(mail=${tr.addr('ann')})`))[0]?.title, 'Chief');
  // A change within the same second as the run before is not lost.
  await retitle(tr, [`uid=ann,${tr.base.legacy}`], 'Chair');
  const r2 = await tr.sync();
  assert.deepEqual(r2.diff.people.change.map((p) => p.address), [tr.addr('ann')]);
  const again = await tr.sync();
  assert.equal(again.writes.total, 0);
});

test('entryCSNs of one provider (server ID 0, no serverID: no multi-provider replication) need no overlap', async (t) => {
  const tr = await makeTree(lab, { directory: 'changeOverlap: 10m' });
  t.after(() => tr.close());
  await tr.add('legacy', { uid: 'ann', cn: 'Ann', mail: tr.addr('ann') });
  await tr.add('cloud', { uid: 'bob', cn: 'Bob', mail: tr.addr('bob') });
  assert.equal((await tr.sync()).status, 'ok');
  await tr.sync(); // reads back the contacts the first run wrote
  const r = await tr.sync();
  // Strictly above the newest CSN seen, as with changeOverlap 0s: nothing read again.
  assert.match(r.reads.legacy?.since ?? '', /^\(&\(entryCSN>=\d{14}\.\d{6}Z#[0-9a-f]+#000#[0-9a-f]+\)\(!\(entryCSN=/);
  assert.deepEqual([r.reads.legacy?.people, r.reads.legacy?.contacts, r.reads.cloud?.people, r.reads.cloud?.contacts], [0, 0, 0, 0]);
});
