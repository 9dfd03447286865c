import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceFolder } from '../protocol/imap/index.js';
import { ensureTargetFolders, pipelinedMaker, planFromList, type TargetInfo } from './folders.js';
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

test('ensureTargetFolders: one level at a time, each level sent at once; subscriptions after; a refusal fails once all settled', async () => {
  const folders: SourceFolder[] = ['INBOX', 'A', 'A.B', 'A.B.C', 'D', 'D.E'].map((path) => ({ path, delimiter: '.', flags: [], subscribed: path !== 'D.E' }));
  const { plan } = planFromList(folders, undefined, plainTarget, cfg);
  const log: string[] = [];
  let inFlight = 0;
  let most = 0;
  const maker = (refuse?: string) => ({
    create: async (wire: string) => {
      log.push(`create ${wire}`);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (wire === refuse) throw new Error('NO [CANNOT] refused');
    },
    subscribe: async (wire: string) => { log.push(`subscribe ${wire}`); },
  });
  const info = { ...plainTarget, existing: new Set(['D']), subscribed: new Set<string>() };
  await ensureTargetFolders(maker(), info, plan);
  // D exists already: A, then A/B and D/E together, then A/B/C; INBOX is never created.
  assert.deepEqual(log.filter((l) => l.startsWith('create')), ['create A', 'create A/B', 'create D/E', 'create A/B/C']);
  assert.equal(most, 2, 'a level is sent at once');
  assert.deepEqual(log.slice(4).sort(), ['subscribe A', 'subscribe A/B', 'subscribe A/B/C', 'subscribe D', 'subscribe INBOX']);
  assert.ok(info.existing.has('A/B/C') && info.subscribed.has('A/B/C'));

  log.length = 0;
  const again = { ...plainTarget, existing: new Set<string>(), subscribed: new Set<string>() };
  await assert.rejects(ensureTargetFolders(maker('A'), again, plan), (err: Error & { code?: string }) =>
    err.code === 'MIGRATION_FOLDER_FAILED' && /target folder A could not be created/.test(err.message));
  // The level's other CREATE ran to its end; nothing below the failed level was sent, and nothing subscribed.
  assert.deepEqual(log, ['create A', 'create D']);
});
