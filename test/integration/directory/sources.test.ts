/**
 * Sources other than LDAP (the AD-style LDIF fixture, a CSV) feeding contacts
 * into the lab's slapd, and the command line: sync (--dry-run, --json), show
 * and export postfix (with the real postmap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { resolveRecipient, showRecord } from '../../../src/directory/index.js';
import { cli as runCli, useLab } from '../../harness/index.js';
import { makeTree } from './helpers.js';

const run = promisify(execFile);
const lab = await useLab(undefined, { only: ['ldap'] });
const FIXTURE = resolve(import.meta.dirname, '../../fixtures/ldif/ad-users.ldif');

test('AD-style proxyAddresses from an LDIF source: SMTP: is primary, smtp: are aliases, contacts provisioned', async (t) => {
  const tr = await makeTree(lab, { systems: { cloud: `  cloud:\n    ldif: "${FIXTURE}"` } });
  t.after(() => tr.close());
  await tr.add('legacy', { uid: 'lou', cn: 'Lou', mail: tr.addr('lou') });
  const r = await tr.sync();
  assert.equal(r.status, 'ok', JSON.stringify(r.errors));
  assert.equal(r.diff.sources.cloud?.kind, 'ldif');
  assert.equal(r.diff.sources.cloud?.people, 2);
  assert.deepEqual(r.skipped.map((s) => s.reason), ['no mail address'], 'the printer has no address');
  const karl = await resolveRecipient(tr.store, 'kk@example.com');
  assert.ok(karl.kind === 'system' && karl.name === 'cloud' && karl.record.address === 'karl.kraus@example.com');
  assert.deepEqual(karl.record.aliases, ['karl@example.com', 'kk@example.com'], 'X500: and SIP: are not mail addresses');
  const hans = await resolveRecipient(tr.store, 'hans@example.com');
  assert.ok(hans.kind === 'system' && hans.record.address === 'hans.mueller@example.com' && hans.record.displayName === 'Müller, Hans');
  const contacts = await tr.search(tr.contacts.legacy);
  const kc = contacts.find((e) => e.mail === 'karl.kraus@example.com')!;
  assert.equal(kc.departmentNumber, 'Finance');
  assert.equal(kc.o, 'Example Cloud GmbH');
  assert.equal(kc.telephoneNumber, '+49 30 1234567');
  assert.equal(contacts.find((e) => e.mail === 'hans.mueller@example.com')?.cn, 'Müller, Hans');
  const shown = await showRecord(tr.store, 'kk@example.com', tr.config);
  assert.equal(shown.sources[0]?.origins.address, 'proxyAddresses (SMTP:)');
  assert.equal(shown.sources[0]?.changeMark, '20417');
  assert.match(shown.routing!.reason, /kk@example.com is an alias of karl.kraus@example.com/);
  assert.equal((await tr.sync()).writes.total, 0);
});

test('CSV source and the command line: sync --dry-run, sync --json, show, export postfix', async (t) => {
  const csvDir = mkdtempSync(join(tmpdir(), 'mb-dir-csv-'));
  t.after(() => rmSync(csvDir, { recursive: true, force: true }));
  const tag = randomBytes(4).toString('hex');
  const a = (local: string) => `${local}.${tag}@example.com`;
  const csv = join(csvDir, 'cloud.csv');
  writeFileSync(csv, `address,name,aliases\n${a('mo')},"Mo, the Boss",${a('boss')};${a('m')}\n`);
  const tr = await makeTree(lab, {
    systems: { cloud: `  cloud:\n    users: "${csv}"\n    smtp: { host: 127.0.0.1, port: 10024, protocol: lmtp }` },
  });
  t.after(() => tr.close());
  const cfgFile = join(tr.dir, 'mailbridge.yaml');
  writeFileSync(cfgFile, tr.yaml);
  await tr.add('legacy', { uid: 'ned', cn: 'Ned', mail: tr.addr('ned') });
  const cli = async (...args: string[]) => {
    const r = await runCli(['--config', cfgFile, ...args]);
    return { code: r.code, out: r.stdout, err: r.stderr };
  };
  const dry = await cli('directory', 'sync', '--dry-run');
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, /dry run, nothing written/);
  assert.match(dry.out, /contacts added \(1\):\n {2}legacy +mo\./);
  assert.equal((await tr.search(tr.contacts.legacy)).length, 0);

  const sync = await cli('directory', 'sync', '--json');
  assert.equal(sync.code, 0, sync.err);
  const doc = JSON.parse(sync.out) as { ok: boolean; status: string; diff: { people: { add: unknown[] } } };
  assert.equal(doc.status, 'ok');
  assert.equal(doc.diff.people.add.length, 2);
  assert.equal((await tr.search(tr.contacts.legacy))[0]?.cn, 'Mo, the Boss');

  const show = await cli('directory', 'show', a('boss'), '--json');
  assert.equal(show.code, 0, show.err);
  const s = JSON.parse(show.out) as { record: { address: string; homeSystem: string }; routing: { system: string }; sources: { origins: Record<string, string> }[] };
  assert.equal(s.record.address, a('mo'));
  assert.equal(s.routing.system, 'cloud');
  assert.match(s.sources[0]!.origins.displayName!, /cloud\.csv:2 column name/);
  const unknown = await cli('directory', 'show', tr.addr('nobody'));
  assert.equal(unknown.code, 1);
  assert.match(unknown.out, /not in the directory/);

  const out = join(tr.dir, 'postfix');
  const exp = await cli('directory', 'export', 'postfix', out, '--json');
  assert.equal(exp.code, 0, exp.err);
  const transport = readFileSync(join(out, 'transport'), 'utf8');
  assert.match(transport, new RegExp(`^${a('boss').replace(/\./g, '\\.')} lmtp:\\[127\\.0\\.0\\.1\\]:10024$`, 'm'));
  assert.ok(!transport.includes(tr.addr('ned')), 'legacy has no smtp endpoint: left out of transport');
  assert.match(readFileSync(join(out, 'virtual'), 'utf8'), new RegExp(`^${a('m').replace(/\./g, '\\.')} ${a('mo').replace(/\./g, '\\.')}$`, 'm'));
  assert.match(readFileSync(join(out, 'relay_recipients'), 'utf8'), new RegExp(`^${tr.addr('ned').replace(/\./g, '\\.')} OK$`, 'm'));
  if (existsSync('/usr/sbin/postmap')) {
    assert.ok(existsSync(join(out, 'transport.db')));
    const conf = mkdtempSync(join(tmpdir(), 'mb-pm-'));
    writeFileSync(join(conf, 'main.cf'), '');
    t.after(() => rmSync(conf, { recursive: true, force: true }));
    const q = await run('/usr/sbin/postmap', ['-c', conf, '-q', a('boss'), `hash:${join(out, 'transport')}`]);
    assert.equal(q.stdout.trim(), 'lmtp:[127.0.0.1]:10024');
  }
});
