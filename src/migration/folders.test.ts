import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceFolder } from '../protocol/imap/index.js';
import { pipelinedMaker, planFromList, type TargetInfo } from './folders.js';
import { personalNamespace } from './listing.js';

const cfg = { from: 'legacy', to: 'cloud', concurrency: 1, deleteOnTarget: false, skipDeleted: true };
const plainTarget: TargetInfo = { delimiter: '/', prefix: '', specialUse: { '\\Sent': 'Sent' }, existing: new Set(), subscribed: new Set() };
const courier: SourceFolder[] = ['INBOX', 'INBOX.Sent', 'INBOX.Projects', 'INBOX.Projects.A'].map((path) => ({ path, delimiter: '.', flags: [], subscribed: true }));

function targets(folders: SourceFolder[], ns: Parameters<typeof planFromList>[1], t: TargetInfo): Record<string, string> {
  return Object.fromEntries(planFromList(folders, ns, t, cfg).plan.mappings.map((m) => [m.source, m.target]));
}

test('personalNamespace: first personal namespace from NAMESPACE, NIL delimiter as null, none without the answer', () => {
  assert.deepEqual(personalNamespace({ namespace: undefined, namespaces: { personal: [{ prefix: 'INBOX.', delimiter: '.' }], other: false, shared: false } }),
    { prefix: 'INBOX.', delimiter: '.' });
  assert.deepEqual(personalNamespace({ namespace: { prefix: '', delimiter: null }, namespaces: undefined }), { prefix: '', delimiter: null });
  assert.equal(personalNamespace({ namespace: undefined, namespaces: undefined }), undefined);
});

test('planFromList: an "INBOX." source namespace is stripped (INBOX.Sent -> Sent by special use)', () => {
  assert.deepEqual(targets(courier, { prefix: 'INBOX.', delimiter: '.' }, plainTarget),
    { INBOX: 'INBOX', 'INBOX.Sent': 'Sent', 'INBOX.Projects': 'Projects', 'INBOX.Projects.A': 'Projects/A' });
  // Without the namespace the same folders stay under INBOX: what the prefix changes.
  assert.equal(targets(courier, undefined, plainTarget)['INBOX.Projects.A'], 'INBOX/Projects/A');
});

test('planFromList: a target namespace prefix is added, but not to INBOX', () => {
  const t: TargetInfo = { ...plainTarget, prefix: 'INBOX.', delimiter: '.', specialUse: { '\\Sent': 'INBOX.Sent' } };
  assert.deepEqual(targets(courier, { prefix: 'INBOX.', delimiter: '.' }, t),
    { INBOX: 'INBOX', 'INBOX.Sent': 'INBOX.Sent', 'INBOX.Projects': 'INBOX.Projects', 'INBOX.Projects.A': 'INBOX.Projects.A' });
});

test('pipelinedMaker: CREATE and SUBSCRIBE on the APPEND connection; ALREADYEXISTS is done, NO is an error, unquotable names go the other way', async () => {
  const sent: string[] = [];
  const viaFallback: string[] = [];
  const conn = {
    mailboxCommand: async (verb: 'CREATE' | 'SUBSCRIBE', wire: string) => {
      sent.push(`${verb} ${wire}`);
      if (wire === 'Exists') return 'NO [ALREADYEXISTS] Mailbox already exists';
      if (wire === 'Bad') return 'NO [CANNOT] Invalid mailbox name';
      return 'OK done';
    },
  };
  const maker = pipelinedMaker(conn, { create: async (w) => { viaFallback.push(`CREATE ${w}`); }, subscribe: async (w) => { viaFallback.push(`SUBSCRIBE ${w}`); } });
  await maker.create('Archiv/2024');
  await maker.create('Exists');
  await assert.rejects(maker.create('Bad'), /CANNOT/);
  await maker.subscribe('Archiv/2024');
  await maker.create('odd\r\nname');
  assert.deepEqual(sent, ['CREATE Archiv/2024', 'CREATE Exists', 'CREATE Bad', 'SUBSCRIBE Archiv/2024']);
  assert.deepEqual(viaFallback, ['CREATE odd\r\nname']);
});
