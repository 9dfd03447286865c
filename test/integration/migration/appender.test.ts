/**
 * The pipelined appender against the cloud Dovecot: MULTIAPPEND with APPENDUID
 * in order; a batch holding a message the server refuses (empty: "Can't save a
 * zero byte message") falls back to single APPENDs so only that one is refused,
 * with the server's answer; NUL bytes go as literal8 (BINARY); STATUS of a target
 * folder without SELECT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../../../src/core/index.js';
import { useLab, LAB_HOST } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { PipelinedAppender, expandUidSet } from '../../../src/migration/appender.js';
import { msg, snapshot, withSession } from './setup.js';

test('appender: MULTIAPPEND in order, one refused message refused alone, NUL bytes as literal8', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'appender');
  const info = lab.dovecot.cloud;
  const ep = { host: LAB_HOST, port: info.imapPort, tls: 'none' as const, admin: { user: info.masterUser, password: new Secret(info.masterPassword), mode: 'master' as const } };
  const a = await PipelinedAppender.open(ep, { user: `${u.address}*${info.masterUser}`, pass: info.masterPassword });
  t.after(() => a.close());
  assert.ok(a.has('MULTIAPPEND') && a.has('LITERAL+'));
  // INTERNALDATE goes out as the source's text, zone included: 11:10:11 at +0200 is 09:10:11 UTC.
  const date = ' 8-Jul-2018 11:10:11 +0200';
  const ok = await a.appendMany('INBOX', [0, 1, 2].map((i) => ({ body: msg(`ma${i}`), flags: ['\\Seen', '$Forwarded'], date })));
  assert.deepEqual(ok.map((r) => r.ok && r.uid), [1, 2, 3]);

  const mixed = await a.appendMany('INBOX', [{ body: msg('before'), flags: [] }, { body: Buffer.alloc(0), flags: [] }, { body: msg('after'), flags: [] }]);
  assert.deepEqual(mixed.map((r) => r.ok), [true, false, true]);
  const refused = mixed[1]!;
  assert.ok(!refused.ok && /zero byte/i.test(refused.reason), JSON.stringify(refused));

  const nul = await a.append('INBOX', Buffer.from('Subject: nul\r\n\r\na\0b\r\n'), [], date);
  assert.ok(nul.ok, JSON.stringify(nul));
  const box = await withSession(info, u.address, (c) => snapshot(c, 'INBOX'));
  assert.equal(box.length, 6);
  assert.deepEqual(box[0]!.flags, ['$Forwarded', '\\Seen']);
  assert.equal(box[0]!.date, '2018-07-08T09:10:11.000Z');

  // STATUS without SELECT (the engine's per-folder check): the count and UIDVALIDITY a SELECT reports; a name that
  // holds "(MESSAGES 9)" itself is read from the attribute list; a folder that does not exist is undefined.
  const odd = 'Odd (MESSAGES 9) "q"';
  const selected = await withSession(info, u.address, async (c) => {
    await c.mailboxCreate(odd);
    await c.append(odd, msg('odd'), []);
    const box = await c.mailboxOpen('INBOX');
    return { exists: box.exists, uidValidity: Number(box.uidValidity) };
  });
  assert.deepEqual(await a.status('INBOX'), selected);
  assert.equal((await a.status(odd))?.exists, 1);
  assert.equal(await a.status('No such folder'), undefined);
  // The connection still appends after a refused STATUS.
  assert.ok((await a.append('INBOX', msg('after-status'), [])).ok);
});

test('expandUidSet: ranges and lists in APPEND order', () => {
  assert.deepEqual(expandUidSet('5:7,9'), [5, 6, 7, 9]);
  assert.deepEqual(expandUidSet('3'), [3]);
});
