/**
 * The lab itself, for real: a private lab in a temp dir (never the shared one,
 * since this test stops it), every server greets, mail delivered over LMTP reads
 * back over IMAP byte for byte, the two systems differ as designed, and after
 * stopLab every recorded PID is gone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import {
  LAB_HOST, doveadm, groupMembers, isAlive, labStatus, ldapClient, newMailUser, startLab, stopLab, useLab,
  type DovecotInfo, type LabInfo,
} from '../../harness/index.js';

const SPECIAL_USE = { Drafts: '\\Drafts', Sent: '\\Sent', Trash: '\\Trash', Junk: '\\Junk', Archive: '\\Archive' };
const EXTENSIONS = ['UIDPLUS', 'CONDSTORE', 'QRESYNC', 'MULTIAPPEND', 'LITERAL+', 'SPECIAL-USE'];

/**
 * Speaks a line protocol: waits for the greeting, then sends each command and
 * waits for its final reply line (SMTP/LMTP "NNN " style). Returns the transcript.
 */
function converse(port: number, commands: string[], final = /^\d{3} /m): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: LAB_HOST, port });
    const replies: string[] = [];
    const queue = [...commands];
    let buf = '';
    sock.setTimeout(10_000, () => { sock.destroy(); reject(new Error(`port ${port}: timeout after ${JSON.stringify(replies)}`)); });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const lines = buf.split('\r\n');
      const last = lines[lines.length - 2] ?? '';
      if (!final.test(last)) return;
      replies.push(buf);
      buf = '';
      const next = queue.shift();
      if (next === undefined) { sock.end(); resolve(replies); } else sock.write(next);
    });
    sock.on('error', reject);
  });
}

function imap(info: DovecotInfo, user: string, pass: string): ImapFlow {
  return new ImapFlow({
    host: LAB_HOST, port: info.imapPort, secure: false, doSTARTTLS: false, logger: false, auth: { user, pass },
  });
}

async function withImap<T>(info: DovecotInfo, user: string, pass: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const client = imap(info, user, pass);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout();
  }
}

void describe('the lab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailbridge-labtest-'));
  let lab: LabInfo;

  before(async () => {
    const started = Date.now();
    lab = await startLab(dir);
    console.log(`lab test: full lab started in ${Date.now() - started} ms`);
  });
  after(async () => {
    await stopLab(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  void test('IMAP logs in a new user, and the master user as that user', async () => {
    for (const system of ['legacy', 'cloud'] as const) {
      const info = lab.dovecot[system];
      const user = await newMailUser(lab, system, { local: 'login' });
      const caps = await withImap(info, user.address, user.password, async (c) => [...c.capabilities.keys()]);
      for (const ext of EXTENSIONS) assert.ok(caps.includes(ext), `${system}: ${ext} missing from ${caps.join(' ')}`);
      const seen = await withImap(info, `${user.address}*${info.masterUser}`, info.masterPassword,
        async (c) => { const st = await c.status('INBOX', { messages: true }); return st ? st.messages : -1; });
      assert.equal(seen, 0, `${system}: master user sees the user's empty INBOX`);
    }
  });

  void test('LMTP answers LHLO with 250', async () => {
    for (const system of ['legacy', 'cloud'] as const) {
      const [greeting, lhlo] = await converse(lab.dovecot[system].lmtpPort, ['LHLO lab.test\r\n', 'QUIT\r\n']);
      assert.match(greeting ?? '', /^220 /, `${system} LMTP greeting`);
      assert.match(lhlo ?? '', /^250 /m, `${system} LHLO`);
    }
  });

  void test('PostgreSQL answers SELECT 1 in database mailbridge', async () => {
    assert.ok(lab.postgres, 'postgres is part of the lab');
    const client = new pg.Client({ connectionString: lab.postgres.url });
    await client.connect();
    try {
      const res = await client.query<{ one: number; db: string }>('SELECT 1 AS one, current_database() AS db');
      assert.deepEqual(res.rows[0], { one: 1, db: 'mailbridge' });
    } finally {
      await client.end();
    }
  });

  void test('slapd, Radicale and Postfix greet', async () => {
    assert.ok(lab.ldap && lab.radicale && lab.postfix, 'full lab');
    const [smtpGreeting, ehlo] = await converse(lab.postfix.smtpPort, ['EHLO lab.test\r\n', 'QUIT\r\n']);
    assert.match(smtpGreeting ?? '', /^220 /);
    assert.match(ehlo ?? '', /^250 /m);
    const res = await fetch(lab.radicale.url);
    assert.ok(res.status < 500, `Radicale answered HTTP ${res.status}`);
    await res.arrayBuffer();
    const ldap = await ldapClient(lab.ldap);
    try {
      const { searchEntries } = await ldap.search(lab.ldap.suffix, { scope: 'base' });
      assert.equal(searchEntries[0]?.dn, lab.ldap.suffix);
    } finally {
      await ldap.unbind();
    }
  });

  void test('a message delivered over LMTP reads back over IMAP with a byte-identical body', async () => {
    const user = await newMailUser(lab, 'legacy', { local: 'lmtp' });
    const headers = `From: sender@example.net\r\nTo: ${user.address}\r\nSubject: lab\r\nMessage-ID: <lab-${Date.now()}@example.net>\r\n` +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n';
    // A leading dot (dot-stuffed on the wire, RFC 5321 4.5.2), 8-bit text, trailing spaces.
    const body = 'Hello,\r\n.a line that starts with a dot\r\nÜmläut ✓  \r\n\r\nbye\r\n';
    const stuffed = body.replace(/^\./gm, '..');
    const replies = await converse(lab.dovecot.legacy.lmtpPort, [
      'LHLO lab.test\r\n', 'MAIL FROM:<sender@example.net>\r\n', `RCPT TO:<${user.address}>\r\n`, 'DATA\r\n',
      `${headers}\r\n${stuffed}.\r\n`, 'QUIT\r\n',
    ]);
    assert.match(replies[3] ?? '', /^250 /m, `RCPT accepted: ${replies[3]}`);
    assert.match(replies[5] ?? '', /^250 /m, `DATA accepted: ${replies[5]}`);
    const source = await withImap(lab.dovecot.legacy, user.address, user.password, async (c) => {
      await c.mailboxOpen('INBOX');
      const msg = await c.fetchOne('*', { source: true });
      return msg ? msg.source : undefined;
    });
    assert.ok(source, 'the message is in INBOX');
    const { stdout } = await doveadm(lab.dovecot.legacy, ['mailbox', 'status', '-u', user.address, 'messages', 'INBOX']);
    assert.match(stdout, /\bmessages=1\b/, 'doveadm sees the same mailbox');
    const text = source.toString('utf8');
    const split = text.indexOf('\r\n\r\n');
    assert.ok(text.slice(0, split + 2).endsWith(headers), 'our headers follow the ones LMTP prepends');
    assert.equal(Buffer.from(text.slice(split + 4), 'utf8').toString('hex'), Buffer.from(body, 'utf8').toString('hex'));
  });

  void test('the hierarchy separators differ: legacy ".", cloud "/"', async () => {
    const expected = { legacy: '.', cloud: '/' };
    for (const system of ['legacy', 'cloud'] as const) {
      const info = lab.dovecot[system];
      assert.equal(info.hierarchySeparator, expected[system]);
      const user = await newMailUser(lab, system);
      const delimiters = await withImap(info, user.address, user.password, async (c) => {
        await c.mailboxCreate(['Projects', '2024']);
        return [c.namespace?.delimiter, ...(await c.list()).map((m) => m.delimiter)];
      });
      assert.deepEqual(new Set(delimiters), new Set([expected[system]]), `${system} delimiters`);
    }
  });

  void test('the special-use folders exist with their RFC 6154 attributes', async () => {
    for (const system of ['legacy', 'cloud'] as const) {
      const user = await newMailUser(lab, system);
      const list = await withImap(lab.dovecot[system], user.address, user.password, (c) => c.list());
      for (const [name, use] of Object.entries(SPECIAL_USE)) {
        const box = list.find((m) => m.path === name);
        assert.ok(box, `${system}: ${name} exists`);
        assert.ok(box.flags.has(use), `${system}: ${name} has ${use} (flags ${[...box.flags].join(' ')})`);
        assert.equal(box.specialUseSource, 'extension', `${system}: ${name} is special-use per the server`);
      }
    }
  });

  void test('useLab attaches to a running lab named by MAILBRIDGE_LAB', async () => {
    const saved = process.env.MAILBRIDGE_LAB;
    process.env.MAILBRIDGE_LAB = dir;
    try {
      const attached = await useLab();
      assert.equal(attached.dovecot.legacy.imapPort, lab.dovecot.legacy.imapPort);
      assert.deepEqual(attached.servers, lab.servers);
    } finally {
      if (saved === undefined) delete process.env.MAILBRIDGE_LAB;
      else process.env.MAILBRIDGE_LAB = saved;
    }
  });

  void test('stopLab stops every recorded PID, and again is a no-op', async () => {
    const started = Date.now();
    await stopLab(dir);
    console.log(`lab test: full lab stopped in ${Date.now() - started} ms`);
    for (const s of lab.servers) {
      assert.equal(isAlive(s.pid), false, `${s.name} pid ${s.pid} is gone`);
      // Each server was spawned as a process-group leader: its children must be gone too.
      assert.deepEqual(groupMembers(s.pid), [], `${s.name}: no process of its group is left`);
    }
    await stopLab(dir);
    const status = await labStatus(dir);
    assert.ok(status.every((s) => !s.alive && s.ports.every((p) => !p.answering)), 'status: all down');
  });
});
