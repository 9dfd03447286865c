/**
 * Directory sync against the lab's real slapd, each test in a private tree of
 * its own (people OUs with their contacts OUs below them, as in the lab).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { MbError } from '../../../src/core/index.js';
import { MARKER_PREFIX, resolveRecipient, showRecord } from '../../../src/directory/index.js';
import { ldapAddLdif, useLab } from '../../harness/index.js';
import { makeTree } from './helpers.js';

const lab = await useLab(undefined, { only: ['ldap'] });

const mails = (entries: Record<string, unknown>[]) => entries.map((e) => String(e.mail).toLowerCase()).sort();

test('full sync both ways, then incremental runs: unchanged writes 0, rename, alias, move, removal', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const ann = tr.addr('ann');
  const bob = tr.addr('bob');
  const cid = tr.addr('cid');
  const annDn = await tr.add('legacy', { uid: 'ann', cn: 'Ann Archer', mail: ann, title: 'CFO' });
  await tr.add('legacy', { uid: 'cid', cn: 'Cid Cole', mail: cid });
  await tr.add('cloud', { uid: 'bob', cn: 'Bob Baker', mail: bob, aliases: [tr.addr('robert')] });

  const r1 = await tr.sync();
  assert.equal(r1.status, 'ok', JSON.stringify(r1.errors));
  assert.deepEqual(r1.diff.people.add.map((p) => p.address).sort(), [ann, bob, cid].sort());
  assert.equal(r1.diff.contacts.add.length, 3);
  assert.deepEqual(r1.diff.conflicts, []);
  // Legacy people became contacts in cloud and the other way round, marked as ours.
  const cloudContacts = await tr.search(tr.contacts.cloud);
  assert.deepEqual(mails(cloudContacts), [ann, cid].sort());
  const annContact = cloudContacts.find((e) => e.mail === ann)!;
  assert.equal(annContact.description, `${MARKER_PREFIX} source=legacy`);
  assert.equal(annContact.cn, 'Ann Archer');
  assert.equal(annContact.title, 'CFO');
  assert.deepEqual(mails(await tr.search(tr.contacts.legacy)), [bob]);
  // The contacts OU sits under the people OU: contacts are not read back as people.
  const route = await resolveRecipient(tr.store, tr.addr('robert'), { domains: ['example.com'] });
  assert.equal(route.kind, 'system');
  assert.ok(route.kind === 'system' && route.name === 'cloud' && route.record.address === bob && route.via === 'alias');
  assert.deepEqual(await resolveRecipient(tr.store, 'x@elsewhere.org', { domains: ['example.com'] }), { kind: 'external' });
  assert.deepEqual(await resolveRecipient(tr.store, tr.addr('nobody')), { kind: 'unknown' });

  const r2 = await tr.sync();
  assert.equal(r2.writes.total, 0, 'an unchanged directory costs no write');
  assert.equal(r2.diff.people.add.length + r2.diff.people.change.length + r2.diff.contacts.add.length + r2.diff.contacts.change.length, 0);

  const c = await tr.client();
  try {
    // rename and alias added
    await c.modify(annDn, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'cn', values: ['Ann Archer-Smith'] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'mailLocalAddress', values: [tr.addr('annie')] }) }),
    ]);
    const r3 = await tr.sync();
    assert.deepEqual(r3.diff.people.change.map((p) => p.address), [ann]);
    assert.match(r3.diff.people.change[0]!.detail!, /displayName "Ann Archer" -> "Ann Archer-Smith"; aliases \[\] -> \[annie/);
    assert.deepEqual(r3.diff.contacts.change.map((x) => [x.system, x.address]), [['cloud', ann]]);
    assert.equal(r3.writes.directory, 1);
    assert.equal((await tr.search(tr.contacts.cloud, `(mail=${ann})`))[0]!.cn, 'Ann Archer-Smith');
    assert.equal((await resolveRecipient(tr.store, tr.addr('annie'))).kind, 'system');

    // moved between OUs inside legacy: same person, new DN; the contact is not rewritten
    await c.add(`ou=finance,${tr.base.legacy}`, { objectClass: ['organizationalUnit'], ou: 'finance' });
    await c.modifyDN(annDn, `uid=ann,ou=finance,${tr.base.legacy}`);
    const r4 = await tr.sync();
    assert.deepEqual(r4.diff.people.change.map((p) => p.address), [ann]);
    assert.match(r4.diff.people.change[0]!.detail!, /source legacy:uid=ann,ou=legacy.* -> legacy:uid=ann,ou=finance/);
    assert.equal(r4.diff.contacts.change.length + r4.diff.contacts.add.length + r4.diff.contacts.delete.length, 0);

    // moved between systems (legacy -> cloud): the contacts follow
    await c.del(`uid=cid,${tr.base.legacy}`);
    await tr.add('cloud', { uid: 'cid', cn: 'Cid Cole', mail: cid });
    const r5 = await tr.sync({ allowDeletes: true });
    assert.match(r5.diff.people.change.find((p) => p.address === cid)!.detail!, /home legacy -> cloud/);
    assert.deepEqual(mails(await tr.search(tr.contacts.cloud)), [ann]);
    assert.deepEqual(mails(await tr.search(tr.contacts.legacy)), [bob, cid].sort());

    // person removed: 1 of 2 contacts is more than 10%, so the guard stops first
    await c.del(`uid=bob,${tr.base.cloud}`);
    const r6 = await tr.sync();
    assert.equal(r6.status, 'stopped');
    assert.match(r6.stopped!.join('\n'), /legacy: would delete 1 of 2 contacts, more than 10%/);
    assert.deepEqual(mails(await tr.search(tr.contacts.legacy)), [bob, cid].sort(), 'nothing written');
    const r7 = await tr.sync({ allowDeletes: true });
    assert.deepEqual(r7.diff.people.delete.map((p) => p.address), [bob]);
    assert.deepEqual(r7.diff.contacts.delete.map((p) => p.address), [bob]);
    assert.deepEqual(mails(await tr.search(tr.contacts.legacy)), [cid]);
    assert.deepEqual(await resolveRecipient(tr.store, bob), { kind: 'unknown' });
    const run = await tr.store.runs.latest('directory');
    assert.equal(run?.status, 'ok');
    assert.equal(run?.counts.peopleDeleted, 1);
  } finally {
    await c.unbind();
  }
});

test('a hand-made contact is never touched and is reported; a marked one from an earlier install is joined', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const dee = tr.addr('dee');
  const eve = tr.addr('eve');
  await tr.add('legacy', { uid: 'dee', cn: 'Dee Dunn', mail: dee });
  await tr.add('legacy', { uid: 'eve', cn: 'Eve East', sn: 'East', mail: eve });
  await tr.add('cloud', { uid: 'zed', cn: 'Zed', mail: tr.addr('zed') });
  const c = await tr.client();
  const manualDn = `cn=Dee by hand,${tr.contacts.cloud}`;
  const joinedDn = `cn=old eve,${tr.contacts.cloud}`;
  try {
    await c.add(manualDn, { objectClass: ['inetOrgPerson'], cn: 'Dee by hand', sn: 'Hand', mail: dee, description: 'made by the admin' });
    await c.add(joinedDn, { objectClass: ['inetOrgPerson'], cn: 'Eve East', sn: 'old', mail: eve, description: `${MARKER_PREFIX} source=legacy` });
  } finally {
    await c.unbind();
  }
  const r = await tr.sync();
  assert.deepEqual(r.errors, []);
  const conflict = r.diff.conflicts.find((x) => x.kind === 'foreign-object');
  assert.ok(conflict, JSON.stringify(r.diff.conflicts));
  assert.equal(conflict.address, dee);
  assert.match(conflict.detail, /not made by mailbridge; left untouched/);
  assert.deepEqual(r.diff.contacts.add.filter((x) => x.system === 'cloud'), [], 'no duplicate of the joined contact, no contact next to the hand-made one');
  assert.deepEqual(r.diff.contacts.change.map((x) => [x.address, x.dn]), [[eve, joinedDn]]);
  const manual = (await tr.search(tr.contacts.cloud, `(mail=${dee})`));
  assert.equal(manual.length, 1);
  assert.equal(manual[0]!.description, 'made by the admin');
  assert.equal(manual[0]!.sn, 'Hand');
  assert.equal((await tr.search(tr.contacts.cloud, `(mail=${eve})`))[0]!.sn, 'East', 'joined contact brought up to date');
  assert.equal((await tr.sync()).writes.total, 0, 'the joined contact keeps its naming value and is stable');
  const shown = await showRecord(tr.store, dee, tr.config);
  assert.equal(shown.conflicts[0]?.kind, 'foreign-object');
  // Even when the person leaves, the hand-made object stays.
  const c2 = await tr.client();
  try { await c2.del(`uid=dee,${tr.base.legacy}`); } finally { await c2.unbind(); }
  await tr.sync({ allowDeletes: true });
  assert.equal((await tr.search(tr.contacts.cloud, `(mail=${dee})`)).length, 1);
});

test('an address claimed by both systems is a conflict; the system named first wins unless conflictWinner says otherwise', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const fay = tr.addr('fay');
  await tr.add('legacy', { uid: 'fay', cn: 'Fay Legacy', mail: fay });
  await tr.add('cloud', { uid: 'fay', cn: 'Fay Cloud', mail: fay });
  await tr.add('cloud', { uid: 'gus', cn: 'Gus', mail: tr.addr('gus') });
  const r = await tr.sync();
  const conflict = r.diff.conflicts.find((x) => x.kind === 'address-claimed')!;
  assert.deepEqual(conflict.systems, ['legacy', 'cloud']);
  assert.equal(conflict.winner, 'legacy');
  assert.match(conflict.detail, /legacy wins \(named first under systems\)/);
  const route = await resolveRecipient(tr.store, fay);
  assert.ok(route.kind === 'system' && route.name === 'legacy' && route.record.displayName === 'Fay Legacy');
  // No contact for fay anywhere: each system has the person itself.
  assert.deepEqual(mails(await tr.search(tr.contacts.cloud)), []);
  const shown = await showRecord(tr.store, fay, tr.config);
  assert.deepEqual(shown.sources.map((s) => [s.system, s.displayName]), [['cloud', 'Fay Cloud'], ['legacy', 'Fay Legacy']]);
  assert.equal(shown.routing?.system, 'legacy');
  assert.equal(shown.sources.find((s) => s.system === 'legacy')!.origins.displayName, 'cn');

  const tr2 = { ...tr, config: { ...tr.config, directory: { ...tr.config.directory, conflictWinner: ['cloud'] } } };
  const { runDirectorySync } = await import('../../../src/directory/index.js');
  const { silentLogger } = await import('../../../src/observe/index.js');
  const r2 = await runDirectorySync({ store: tr.store, log: silentLogger(), settings: tr2.config });
  assert.equal(r2.diff.conflicts.find((x) => x.kind === 'address-claimed')!.winner, 'cloud');
  assert.match(r2.diff.people.change[0]!.detail!, /home legacy -> cloud/);
  const route2 = await resolveRecipient(tr.store, fay);
  assert.ok(route2.kind === 'system' && route2.name === 'cloud' && route2.record.displayName === 'Fay Cloud');
});

test('deletion guard: more than directory.deleteThreshold stops before writing', async (t) => {
  const tr = await makeTree(lab, { directory: 'deleteThreshold: 2' });
  t.after(() => tr.close());
  for (let i = 0; i < 40; i++) await tr.add('legacy', { uid: `p${i}`, cn: `P ${i}`, mail: tr.addr(`p${i}`) });
  await tr.add('cloud', { uid: 'keep', cn: 'Keeper', mail: tr.addr('keep') });
  assert.equal((await tr.sync()).diff.contacts.add.length, 41);
  const c = await tr.client();
  try { for (let i = 0; i < 3; i++) await c.del(`uid=p${i},${tr.base.legacy}`); } finally { await c.unbind(); }
  const r = await tr.sync();
  assert.equal(r.status, 'stopped');
  assert.match(r.stopped!.join('\n'), /cloud: would delete 3 contacts, more than directory.deleteThreshold \(2\)/);
  assert.equal(r.writes.total, 0);
  assert.equal((await tr.search(tr.contacts.cloud)).length, 40, 'nothing deleted');
  assert.equal((await tr.store.runs.latest('directory'))?.status, 'failed');
  const ok = await tr.sync({ allowDeletes: true });
  assert.equal(ok.status, 'ok');
  assert.equal((await tr.search(tr.contacts.cloud)).length, 37);
});

test('a source with zero people is an error, never "everyone left"', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  await tr.add('legacy', { uid: 'hal', cn: 'Hal', mail: tr.addr('hal') });
  await tr.add('cloud', { uid: 'ida', cn: 'Ida', mail: tr.addr('ida') });
  await tr.sync();
  const c = await tr.client();
  try { await c.del(`uid=ida,${tr.base.cloud}`); } finally { await c.unbind(); }
  await assert.rejects(tr.sync({ allowDeletes: true }), (e: unknown) => MbError.is(e, 'DIRECTORY_SOURCE_EMPTY') && /cloud: the ldap source returned no people/.test(e.message));
  assert.deepEqual(mails(await tr.search(tr.contacts.legacy)), [tr.addr('ida')], 'the contact of the vanished person is still there');
  const run = await tr.store.runs.latest('directory');
  assert.equal(run?.status, 'failed');
  assert.match(run?.error ?? '', /returned no people/);
});

test('escaping: names with RFC 4515/4514 metacharacters round-trip into contacts', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const names = ['Joe (contractor)*', 'Müller, Hans', '#1 Support', 'Trailing  '];
  const people = names.map((cn, i) => ({ uid: cn, cn, mail: tr.addr(`esc${i}`) }));
  for (const p of people) await tr.add('legacy', p);
  // A person whose address itself carries filter metacharacters (RFC 5321 allows them in a local part).
  await tr.add('legacy', { uid: 'star', cn: 'Star', mail: `a*(b).${tr.tag}@example.com` });
  await tr.add('cloud', { uid: 'x', cn: 'X', mail: tr.addr('x') });
  const r = await tr.sync();
  assert.equal(r.status, 'ok', JSON.stringify(r.errors));
  assert.equal(r.diff.contacts.add.filter((x) => x.system === 'cloud').length, 5);
  const found = await tr.search(tr.contacts.cloud);
  for (const p of people) assert.equal(found.find((e) => e.mail === p.mail)?.cn, p.cn.trim() === p.cn ? p.cn : p.cn.trim());
  assert.ok(found.some((e) => e.mail === `a*(b).${tr.tag}@example.com`));
  // Source DNs with escaped values are stored normalized and shown.
  const shown = await showRecord(tr.store, tr.addr('esc1'), tr.config);
  assert.match(shown.sources[0]!.origins.dn!, /uid=Müller\\(,|2C) Hans/i);
  assert.equal((await tr.sync()).writes.total, 0, 'stable: escaped names do not cause rewrites');
});

test('paged results (RFC 2696): 600 people are read past the server size limit of 500', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  const ldif = Array.from({ length: 600 }, (_, i) => [
    `dn: uid=bulk${i},${tr.base.legacy}`, 'objectClass: inetOrgPerson', `uid: bulk${i}`, `cn: Bulk ${i}`, 'sn: Bulk', `mail: ${tr.addr(`bulk${i}`)}`,
  ].join('\n')).join('\n\n') + '\n';
  ldapAddLdif(lab.ldap!, ldif);
  await tr.add('cloud', { uid: 'one', cn: 'One', mail: tr.addr('one') });
  const r = await tr.sync({ dryRun: true });
  assert.equal(r.status, 'dry-run');
  assert.equal(r.diff.sources.legacy?.people, 600);
  assert.equal(r.diff.contacts.add.filter((x) => x.system === 'cloud').length, 600);
  assert.equal(r.writes.total, 0);
  assert.equal((await tr.search(tr.contacts.cloud)).length, 0, 'a dry run writes nothing');
  assert.equal(await tr.store.users.count(), 0);
});

test('an alias moving from one person to another in one run is routed to its new owner', async (t) => {
  const tr = await makeTree(lab);
  t.after(() => tr.close());
  // z holds it first; b (sorted before z, so written first) takes it over: the retry path.
  const shared = tr.addr('sales');
  const zDn = await tr.add('legacy', { uid: 'z', cn: 'Z', mail: tr.addr('z'), aliases: [shared] });
  await tr.add('cloud', { uid: 'b', cn: 'B', mail: tr.addr('b') });
  await tr.sync();
  const before = await resolveRecipient(tr.store, shared);
  assert.ok(before.kind === 'system' && before.record.address === tr.addr('z'));
  const c = await tr.client();
  try {
    await c.modify(zDn, [new Change({ operation: 'delete', modification: new Attribute({ type: 'mailLocalAddress', values: [shared] }) })]);
    await c.modify(`uid=b,${tr.base.cloud}`, [new Change({ operation: 'add', modification: new Attribute({ type: 'mailLocalAddress', values: [shared] }) })]);
  } finally {
    await c.unbind();
  }
  const r = await tr.sync();
  assert.deepEqual(r.diff.people.change.map((p) => p.address).sort(), [tr.addr('z'), tr.addr('b')].sort());
  assert.deepEqual(r.diff.conflicts, []);
  const after = await resolveRecipient(tr.store, shared);
  assert.ok(after.kind === 'system' && after.name === 'cloud' && after.record.address === tr.addr('b'), JSON.stringify(after));
  assert.equal((await tr.sync()).writes.total, 0);
});
