import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDeleteGuard } from './guard.js';
import { computePlan, contactKey, contactsToVerify, deleteCounts, entryKey, unifyInput, type PlanInput, type StoredContactLite, type StoredUserLite } from './plan.js';
import { desiredContact, markerFor, planContacts, withRdnValues, comparable } from './contacts.js';
import type { ExistingContact, SourcePerson } from './types.js';
import { hashPerson } from './mapping.js';

function person(system: string, address: string, extra: Partial<SourcePerson> = {}): SourcePerson {
  const base = { address, aliases: extra.aliases ?? [], displayName: extra.displayName ?? address, attributes: extra.attributes ?? {} };
  return { system, sourceId: extra.sourceId ?? `uid=${address},ou=${system}`, origins: {}, ...base, contentHash: hashPerson(base) };
}

const targets = [
  { system: 'legacy', flavor: 'openldap' as const, contactsDn: 'ou=c,ou=legacy' },
  { system: 'cloud', flavor: 'openldap' as const, contactsDn: 'ou=c,ou=cloud' },
];

function input(people: SourcePerson[], over: Partial<PlanInput> = {}): PlanInput {
  const bySystem = new Map<string, SourcePerson[]>([['legacy', []], ['cloud', []]]);
  for (const p of people) bySystem.get(p.system)!.push(p);
  return {
    rules: { systemOrder: ['legacy', 'cloud'], migrationTo: 'cloud' }, people: bySystem, sourceKinds: new Map(), targets,
    existingContacts: new Map(), storedUsers: new Map(), storedEntries: new Map(), storedContacts: new Map(), ...over,
  };
}

/** What the directory and store look like after a plan was applied: the next plan's input. */
function applied(inp: PlanInput): PlanInput {
  const plan = computePlan(inp);
  const storedUsers = new Map<string, StoredUserLite>(plan.unified.map((p) => [p.address, {
    address: p.address, displayName: p.entry.displayName, aliases: p.aliases, homeSystem: p.home.system,
    sourceSystem: p.entry.system, sourceId: p.entry.sourceId, contentHash: p.contentHash, migrationState: 'none',
  }]));
  const storedEntries = new Map([...inp.people.values()].flat().map((e) => [entryKey(e.system, e.sourceId), { system: e.system, sourceId: e.sourceId, contentHash: e.contentHash }]));
  const existingContacts = new Map<string, ExistingContact[]>();
  for (const a of plan.contactAdds) {
    existingContacts.set(a.system, [...(existingContacts.get(a.system) ?? []), {
      system: a.system, dn: a.dn, address: a.contact.address, ours: true, markerSource: a.contact.sourceSystem, values: comparable(a.contact.attributes),
    }]);
  }
  return { ...inp, storedUsers, storedEntries, existingContacts };
}

test('first run adds people and contacts the other way; an unchanged second run plans no write', () => {
  const inp = input([person('legacy', 'a@e.com'), person('cloud', 'b@e.com')]);
  const p1 = computePlan(inp);
  assert.deepEqual(p1.diff.people.add.map((x) => x.address), ['a@e.com', 'b@e.com']);
  assert.deepEqual(p1.contactAdds.map((c) => [c.system, c.contact.address, c.dn]), [
    ['legacy', 'b@e.com', 'mail=b@e.com,ou=c,ou=legacy'], ['cloud', 'a@e.com', 'mail=a@e.com,ou=c,ou=cloud'],
  ]);
  const p2 = computePlan(applied(inp));
  assert.equal(p2.userUpserts.length + p2.entryUpserts.length + p2.contactAdds.length + p2.contactChanges.length + p2.contactDeletes.length, 0);
});

test('removing a person deletes its contact and record; the guard counts it per system', () => {
  const before = applied(input([person('legacy', 'a@e.com'), person('legacy', 'c@e.com'), person('cloud', 'b@e.com')]));
  const after = { ...before, people: new Map([['legacy', [person('legacy', 'a@e.com')]], ['cloud', [person('cloud', 'b@e.com')]]]) };
  const plan = computePlan(after);
  assert.deepEqual(plan.userDeletes, ['c@e.com']);
  assert.deepEqual(plan.contactDeletes.map((d) => [d.system, d.address]), [['cloud', 'c@e.com']]);
  const counts = deleteCounts(plan, after.storedUsers);
  assert.deepEqual(counts.contacts.cloud, { existing: 2, deletes: 1 });
  const g = checkDeleteGuard({ threshold: 500, ...counts });
  assert.equal(g.ok, false);
  assert.deepEqual(!g.ok && g.reasons, [
    'cloud: would delete 1 of 2 contacts, more than 10%',
    'legacy: would delete 1 of 2 people, more than 10%',
  ]);
});

test('guard: absolute threshold, the 10% rule, and no deletes is always fine', () => {
  assert.deepEqual(checkDeleteGuard({ threshold: 500, contacts: { a: { existing: 10_000, deletes: 501 } }, people: {} }), {
    ok: false, reasons: ['a: would delete 501 contacts, more than directory.deleteThreshold (500)'],
  });
  assert.equal(checkDeleteGuard({ threshold: 500, contacts: { a: { existing: 10_000, deletes: 100 } }, people: {} }).ok, true);
  assert.equal(checkDeleteGuard({ threshold: 500, contacts: { a: { existing: 100, deletes: 10 } }, people: {} }).ok, true);
  assert.equal(checkDeleteGuard({ threshold: 500, contacts: { a: { existing: 100, deletes: 11 } }, people: {} }).ok, false);
  assert.equal(checkDeleteGuard({ threshold: 0, contacts: { a: { existing: 0, deletes: 0 } }, people: {} }).ok, true);
});

test('cutover: the person stops being a contact in the new home and becomes one in the old', () => {
  const before = applied(input([person('legacy', 'a@e.com'), person('cloud', 'b@e.com')]));
  const storedUsers = new Map(before.storedUsers);
  storedUsers.set('a@e.com', { ...storedUsers.get('a@e.com')!, migrationState: 'cutover' });
  // After cutover the admin moves the person's directory entry to cloud as well.
  const plan = computePlan({ ...before, storedUsers, people: new Map([['legacy', [person('legacy', 'z@e.com')]], ['cloud', [person('cloud', 'b@e.com'), person('cloud', 'a@e.com')]]]) });
  assert.equal(plan.unified.find((p) => p.address === 'a@e.com')!.home.system, 'cloud');
  assert.deepEqual(plan.contactDeletes.map((d) => [d.system, d.address]), [['cloud', 'a@e.com']]);
  assert.ok(plan.contactAdds.some((c) => c.system === 'legacy' && c.contact.address === 'a@e.com'));
});

test('contacts: hand-made objects are conflicts, ours are joined, a foreign naming value is kept', () => {
  const p = computePlan(input([person('legacy', 'a@e.com', { displayName: 'A' }), person('legacy', 'h@e.com'), person('cloud', 'b@e.com')])).unified;
  const t = targets[1]!;
  const desired = p.filter((x) => x.home.system === 'legacy').map((x) => desiredContact(x, t));
  const existing: ExistingContact[] = [
    { system: 'cloud', dn: 'cn=old,ou=c,ou=cloud', address: 'a@e.com', ours: true, markerSource: 'legacy', values: { mail: 'a@e.com', cn: 'old', description: markerFor('legacy') } },
    { system: 'cloud', dn: 'cn=H by hand,ou=c,ou=cloud', address: 'h@e.com', ours: false, markerSource: null, values: { mail: 'h@e.com' } },
  ];
  const cp = planContacts(t, desired, existing);
  assert.deepEqual(cp.add, []);
  assert.deepEqual(cp.delete, []);
  assert.equal(cp.conflicts[0]!.kind, 'foreign-object');
  assert.match(cp.conflicts[0]!.detail, /cn=H by hand.*not made by mailbridge/);
  const cn = cp.change[0]!.changes.find((c) => c.attribute === 'cn')!;
  assert.deepEqual(cn.values, ['A', 'old'], 'the RDN value stays');
  assert.deepEqual(withRdnValues('mail=A@E.com,ou=c', { mail: ['a@e.com'] }), { mail: ['a@e.com'] });
});

test('contact shapes: inetOrgPerson named by mail, AD contact with targetAddress, both marked', () => {
  const [p] = computePlan(input([person('legacy', 'a+b@e.com', { displayName: 'Müller, Hans', attributes: { department: 'Fin', company: 'Co', sn: 'Müller' } })])).unified;
  const ol = desiredContact(p!, { system: 'cloud', flavor: 'openldap', contactsDn: 'ou=c' });
  assert.equal(ol.rdn, 'mail=a\\+b@e.com');
  assert.deepEqual(ol.attributes.objectClass, ['top', 'person', 'organizationalPerson', 'inetOrgPerson']);
  assert.deepEqual([ol.attributes.cn, ol.attributes.sn, ol.attributes.departmentNumber, ol.attributes.o], [['Müller, Hans'], ['Müller'], ['Fin'], ['Co']]);
  assert.deepEqual(ol.attributes.description, ['mailbridge-contact source=legacy']);
  const ad = desiredContact(p!, { system: 'cloud', flavor: 'ad', contactsDn: 'ou=c' });
  assert.equal(ad.rdn, 'cn=a\\+b@e.com');
  assert.ok(ad.attributes.objectClass!.includes('contact'));
  assert.deepEqual(ad.attributes.targetAddress, ['SMTP:a+b@e.com']);
  assert.deepEqual([ad.attributes.cn, ad.attributes.displayName], [['a+b@e.com'], ['Müller, Hans']], 'cn is single-valued in AD and names the object');
  assert.deepEqual([ad.attributes.department, ad.attributes.company], [['Fin'], ['Co']]);
});

test('contacts known by name only: kept unread while their person is unchanged, read when it changed, deleted when unwanted', () => {
  const a = person('legacy', 'a@e.com', { attributes: { title: 'x' } });
  const b = person('cloud', 'b@e.com');
  const c = person('legacy', 'c@e.com');
  const inp = input([a, b, c]);
  const p1 = computePlan(inp);
  // The store's rows as a run writes them, and the containers as a names-only listing sees them.
  const storedContacts = new Map<string, StoredContactLite>(p1.contactAdds.map((w) => [contactKey(w.system, w.contact.address), {
    system: w.system, address: w.contact.address, dn: w.dn, contentHash: w.contact.contentHash, personHash: w.contact.personHash,
  }]));
  const byName = (w: (typeof p1.contactAdds)[number]): ExistingContact => ({
    system: w.system, dn: w.dn, address: w.contact.address, ours: true, markerSource: null, values: {}, trusted: true,
  });
  const existingContacts = new Map<string, ExistingContact[]>();
  for (const w of p1.contactAdds) existingContacts.set(w.system, [...(existingContacts.get(w.system) ?? []), byName(w)]);
  const next: PlanInput = { ...applied(inp), existingContacts, storedContacts };

  assert.deepEqual(contactsToVerify(next, unifyInput(next)), [], 'nothing to read when nobody changed');
  const quiet = computePlan(next);
  assert.equal(quiet.contactAdds.length + quiet.contactChanges.length + quiet.contactDeletes.length + quiet.contactRows.length, 0);
  assert.equal(quiet.counts.contacts.cloud, 2);

  // a's title changes and c leaves.
  const changed: PlanInput = { ...next, people: new Map([['legacy', [person('legacy', 'a@e.com', { attributes: { title: 'y' } })]], ['cloud', [b]]]) };
  const unified = unifyInput(changed);
  const verify = contactsToVerify(changed, unified);
  assert.deepEqual(verify.map((v) => [v.system, v.address]), [['cloud', 'a@e.com']]);
  assert.deepEqual(computePlan({ ...changed, unified }).contactDeletes.map((d) => d.address), ['c@e.com'], 'deleted without being read');
  // Once read whole, a's contact differs in the title only.
  const aOld = p1.contactAdds.find((w) => w.contact.address === 'a@e.com')!;
  const readBack: ExistingContact = { ...byName(aOld), values: comparable(aOld.contact.attributes), trusted: false };
  const cloud = existingContacts.get('cloud')!.map((e) => (e.address === 'a@e.com' ? readBack : e));
  const p3 = computePlan({ ...changed, unified, existingContacts: new Map([...existingContacts, ['cloud', cloud]]) });
  assert.deepEqual(p3.contactChanges.map((x) => [x.contact.address, x.changes.map((ch) => ch.attribute)]), [['a@e.com', ['title']]]);
  assert.deepEqual(p3.contactDeletes.map((d) => d.address), ['c@e.com']);
  assert.equal(p3.contactAdds.length, 0);
});
