/**
 * The target folder is SELECTed only when a pass needs it, and the target's
 * imapflow control session is opened only then: the pass lists the folders on
 * its own connections (listing.ts), one login per connection it copies with. Its UIDVALIDITY and
 * count come from STATUS on the APPEND connection; the control session SELECTs
 * the folder for flag changes, deletes, reconciling and crash recovery. The
 * target is reached through a relay (imap-relay.ts) that records the commands:
 *   - a first pass (copy) and an unchanged re-run SELECT nothing on the target;
 *   - a delta pass with a flag change SELECTs the folder and sets the flag;
 *   - a target without LITERAL+ (hidden by the relay) gets imapflow appenders and
 *     no STATUS: the folder is SELECTed and the copy is the same.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { useLab, type LabInfo } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser, type EngineDeps } from '../../../src/migration/index.js';
import type { Store } from '../../../src/store/index.js';
import { engineDeps, migrationConfig, msg, snapshot, systemOf, tempStore, withSession } from './setup.js';
import { imapRelay, type ImapRelay } from './imap-relay.js';

/** One pass with both sides behind relays: the target's commands of the pass (the source's are in `sourceRelay.commands`). */
async function pass(lab: LabInfo, store: Store, relay: ImapRelay, address: string, sourceRelay?: ImapRelay, over: Partial<EngineDeps> = {}): Promise<string[]> {
  const cloud = systemOf(lab.dovecot.cloud);
  const legacy = systemOf(lab.dovecot.legacy);
  const from = relay.commands.length;
  const r = await migrateUser(engineDeps(lab, store, { target: { ...cloud, imap: { ...cloud.imap!, port: relay.port } },
    ...(sourceRelay ? { source: { ...legacy, imap: { ...legacy.imap!, port: sourceRelay.port } } } : {}), ...over }), { address });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.ok, true);
  return relay.commands.slice(from);
}

const logins = (commands: string[]) => commands.filter((c) => /^\S+ (LOGIN|AUTHENTICATE) /i.test(c));

const selects = (commands: string[]) => commands.filter((c) => /^\S+ (SELECT|EXAMINE) /i.test(c));
const statuses = (commands: string[]) => commands.filter((c) => /^\S+ STATUS /i.test(c));

async function seed(lab: LabInfo, address: string): Promise<void> {
  await withSession(lab.dovecot.legacy, address, async (c) => {
    await c.mailboxCreate('Work');
    for (let i = 0; i < 3; i++) await c.append('INBOX', msg(`in${i}`), i === 0 ? ['\\Seen'] : []);
    await c.append('Work', msg('work'), ['$Forwarded']);
  });
}

async function sameContent(lab: LabInfo, address: string): Promise<void> {
  for (const f of ['INBOX', 'Work']) {
    const src = await withSession(lab.dovecot.legacy, address, (c) => snapshot(c, f));
    const tgt = await withSession(lab.dovecot.cloud, address, (c) => snapshot(c, f));
    // Two APPEND connections for a user copied alone: the target's UID order may differ from the source's.
    const key = (xs: typeof src) => xs.map((x) => JSON.stringify([x.sha, x.flags, x.date])).sort();
    assert.deepEqual(key(tgt), key(src), f);
  }
}

/** A seeded source user, the target behind a recording relay (hiding `hideCaps`), a fresh state store. */
async function setup(t: TestContext, local: string, hideCaps?: string[]): Promise<{ lab: LabInfo; address: string; relay: ImapRelay; store: Store }> {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, local);
  await seed(lab, u.address);
  const relay = await imapRelay(lab.dovecot.cloud.imapPort, hideCaps ? { hideCaps } : {});
  t.after(() => relay.close());
  const store = await tempStore();
  t.after(() => store.close());
  return { lab, address: u.address, relay, store };
}

test('target folders: STATUS on the APPEND connection, SELECT only for a pass that changes existing messages', async (t) => {
  const { lab, address, relay, store } = await setup(t, 'tgtselect');

  const sourceRelay = await imapRelay(lab.dovecot.legacy.imapPort);
  t.after(() => sourceRelay.close());
  const first = await pass(lab, store, relay, address, sourceRelay);
  assert.deepEqual(selects(first), [], first.join('\n'));
  // Two logins per side at most: on the target only the two APPEND connections (they list the folders too), no
  // imapflow control session; on the source only the reader, which lists, STATUSes and EXAMINEs.
  assert.equal(logins(first).length, 2, first.join('\n'));
  assert.ok(logins(first).every((c) => /^A\d+ /.test(c)), first.join('\n'));
  assert.ok(first.some((c) => /^A\d+ LIST "" "\*"$/.test(c)), first.join('\n'));
  assert.equal(logins(sourceRelay.commands).length, 1, sourceRelay.commands.join('\n'));
  assert.ok(sourceRelay.commands.some((c) => /^R\d+ LSUB "" "\*"$/.test(c)), sourceRelay.commands.join('\n'));
  assert.ok(statuses(first).length >= 2, first.join('\n'));
  // The folder made and subscribed (on the APPEND connection: the relay sees the pipelined appender's own tags).
  assert.ok(first.some((c) => /^A\d+ CREATE "Work"$/.test(c)), first.join('\n'));
  await sameContent(lab, address);
  const subscribed = await withSession(lab.dovecot.cloud, address, async (c) => (await c.list()).filter((f) => f.subscribed).map((f) => f.path).sort());
  assert.ok(subscribed.includes('Work'), subscribed.join(' '));

  assert.deepEqual(selects(await pass(lab, store, relay, address)), []);

  // A flag change on the source: the delta pass SELECTs the target folder to set it.
  await withSession(lab.dovecot.legacy, address, async (c) => {
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('2', ['\\Flagged'], { uid: true });
  });
  const delta = await pass(lab, store, relay, address);
  assert.equal(selects(delta).length, 1, delta.join('\n'));
  assert.equal(logins(delta).length, 3, 'the control session opened for the flag change');
  assert.match(selects(delta)[0]!, /SELECT "?INBOX"?/i);
  await sameContent(lab, address);
});

test('target folders: without LITERAL+ (imapflow appenders) the folder is SELECTed, and the copy is the same', async (t) => {
  const { lab, address, relay, store } = await setup(t, 'tgtnolit', ['LITERAL+', 'LITERAL-']);
  const first = await pass(lab, store, relay, address);
  assert.deepEqual(statuses(first), [], first.join('\n'));
  assert.ok(selects(first).length >= 2, first.join('\n'));
  assert.ok(first.some((c) => /^\S+ APPEND /i.test(c)));
  // The probe: one pipelined login that finds no LITERAL+, then the imapflow control session and a second appender.
  assert.equal(logins(first).length, 3, first.join('\n'));
  await sameContent(lab, address);
});

test('two folders at once: a pass that copies enough opens a second lane, and each folder is copied on one lane only', async (t) => {
  const { lab, address, relay, store } = await setup(t, 'tgtlanes');
  const sourceRelay = await imapRelay(lab.dovecot.legacy.imapPort);
  t.after(() => sourceRelay.close());
  // 4 messages in 2 folders: a second lane only because the threshold is lowered (the default is 1,000 messages);
  // a reader per lane (by default the lanes share one, tested below).
  const first = await pass(lab, store, relay, address, sourceRelay, { laneMinMessages: 1, appendConnections: 1, shareReader: false });
  const readers = sourceRelay.connections.filter((c) => c.some((l) => /^\S+ (LOGIN|AUTHENTICATE) /i.test(l)));
  assert.equal(readers.length, 2, sourceRelay.commands.join('\n'));
  const examined = readers.map((c) => selects(c).map((l) => /EXAMINE "?([^" ]+)"?/i.exec(l)![1]!));
  // Every folder (the lab's empty special-use ones too) EXAMINEd on one lane only; the two with messages on different lanes.
  const all = examined.flat();
  assert.equal(new Set(all).size, all.length, JSON.stringify(examined));
  assert.ok(all.includes('INBOX') && all.includes('Work'), JSON.stringify(examined));
  assert.notEqual(examined.findIndex((e) => e.includes('INBOX')), examined.findIndex((e) => e.includes('Work')), JSON.stringify(examined));
  // On the target: one APPEND connection per lane, each appending into one folder, and no control session.
  assert.equal(logins(first).length, 2, first.join('\n'));
  const appendsTo = relay.connections.map((c) => [...new Set(c.filter((l) => /^A\d+ APPEND /.test(l)).map((l) => /^A\d+ APPEND "([^"]+)"/.exec(l)![1]!))]);
  assert.deepEqual(appendsTo.filter((x) => x.length > 0).map((x) => x.join()).sort(), ['INBOX', 'Work'], JSON.stringify(appendsTo));
  await sameContent(lab, address);
  // A re-run finds nothing to copy, so it opens no second lane.
  const before = sourceRelay.connections.length;
  assert.deepEqual(selects(await pass(lab, store, relay, address, sourceRelay, { laneMinMessages: 1, appendConnections: 1, shareReader: false })), []);
  assert.equal(sourceRelay.connections.length - before, 1, 'one reader on an unchanged re-run');
});

test('a pass whose source cannot be reached leaves no connection open on the target (both sides open at once)', async (t) => {
  const { lab, address, relay, store } = await setup(t, 'tgtunreach');
  const legacy = systemOf(lab.dovecot.legacy);
  const cloud = systemOf(lab.dovecot.cloud);
  const r = await migrateUser(engineDeps(lab, store, { source: { ...legacy, imap: { ...legacy.imap!, port: 1 } },
    target: { ...cloud, imap: { ...cloud.imap!, port: relay.port } }, appendConnections: 1, retries: 1, retryBaseMs: 10 }), { address });
  assert.equal(r.ok, false);
  assert.equal(r.error?.unreachable, true);
  // The target side was opened in both attempts (it logs in while the source fails) and closed with each.
  assert.equal(logins(relay.commands).length, 2, relay.commands.join('\n'));
  for (let i = 0; i < 50 && relay.open() > 0; i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(relay.open(), 0);
});

test('migration.foldersInParallel: 1 keeps one reader and one APPEND connection for a pass that would take two lanes', async (t) => {
  const { lab, address, relay, store } = await setup(t, 'tgtonelane');
  const sourceRelay = await imapRelay(lab.dovecot.legacy.imapPort);
  t.after(() => sourceRelay.close());
  const first = await pass(lab, store, relay, address, sourceRelay, { laneMinMessages: 1, appendConnections: 1,
    migration: { ...migrationConfig(), foldersInParallel: 1 } });
  assert.equal(logins(sourceRelay.commands).length, 1, sourceRelay.commands.join('\n'));
  assert.equal(logins(first).length, 1, first.join('\n'));
  await sameContent(lab, address);
});

test('two lanes share one reader (the default): one source login for both, the copy and a delta pass are exact', async (t) => {
  const { lab, address, relay, store } = await setup(t, 'tgtshared');
  // More than one batch per folder, so the two lanes' body FETCHes take turns on the one source connection.
  await withSession(lab.dovecot.legacy, address, async (c) => {
    for (let i = 0; i < 30; i++) {
      await c.append('INBOX', msg(`bulk-in${i}`), i % 3 === 0 ? ['\\Seen'] : []);
      await c.append('Work', msg(`bulk-work${i}`), i % 4 === 0 ? ['\\Flagged'] : []);
    }
  });
  const sourceRelay = await imapRelay(lab.dovecot.legacy.imapPort);
  t.after(() => sourceRelay.close());
  const over = { laneMinMessages: 1, appendConnections: 1, batchMessages: 4 };
  const first = await pass(lab, store, relay, address, sourceRelay, over);
  assert.equal(logins(sourceRelay.commands).length, 1, sourceRelay.commands.join('\n'));
  // Two lanes on the target all the same: one APPEND connection each, each appending into its own folder.
  assert.equal(logins(first).length, 2, first.join('\n'));
  const appendsTo = relay.connections.map((c) => [...new Set(c.filter((l) => /^A\d+ APPEND /.test(l)).map((l) => /^A\d+ APPEND "([^"]+)"/.exec(l)![1]!))]);
  assert.deepEqual(appendsTo.filter((x) => x.length > 0).map((x) => x.join()).sort(), ['INBOX', 'Work'], JSON.stringify(appendsTo));
  await sameContent(lab, address);
  // A delta pass: a new message in each folder and a flag changed; the shared reader again.
  await withSession(lab.dovecot.legacy, address, async (c) => {
    await c.append('INBOX', msg('late-in'), []);
    await c.append('Work', msg('late-work'), ['\\Answered']);
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('1:2', ['\\Flagged']);
  });
  const loginsBefore = logins(sourceRelay.commands).length;
  await pass(lab, store, relay, address, sourceRelay, over);
  assert.equal(logins(sourceRelay.commands).length - loginsBefore, 1, sourceRelay.commands.join('\n'));
  await sameContent(lab, address);
});

test('two lanes sharing a reader whose connection drops mid-copy: the pass is retried and the copy is exact, without duplicates', async (t) => {
  const { lab, address, relay, store } = await setup(t, 'tgtsharedcut');
  await withSession(lab.dovecot.legacy, address, async (c) => {
    for (let i = 0; i < 30; i++) {
      await c.append('INBOX', msg(`cut-in${i}`), []);
      await c.append('Work', msg(`cut-work${i}`), i % 2 === 0 ? ['\\Seen'] : []);
    }
  });
  // The 6th FETCH: both lanes have copied some batches by then, with body FETCHes of both folders on the connection.
  const sourceRelay = await imapRelay(lab.dovecot.legacy.imapPort, { cutAtFetch: 6 });
  t.after(() => sourceRelay.close());
  await pass(lab, store, relay, address, sourceRelay, { laneMinMessages: 1, appendConnections: 1, batchMessages: 4, retries: 2, retryBaseMs: 10 });
  // The cut connection carried both lanes' folders (they take turns on it), the retry a new one.
  const cut = selects(sourceRelay.connections[0]!).join('\n');
  assert.match(cut, /EXAMINE "INBOX"/);
  assert.match(cut, /EXAMINE "Work"/);
  assert.ok(logins(sourceRelay.commands).length >= 2, 'the pass logged in again after the cut');
  await sameContent(lab, address);
});
