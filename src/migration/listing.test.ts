/**
 * Unit tests of the folder listing on the engine's own connections (listing.ts):
 * the LIST/LSUB/NAMESPACE line parsers, rawListing's merge and its fallbacks to
 * imapflow, and, against a fake IMAP server on a local socket that trickles its
 * answers a few bytes at a time, a mailbox name sent as a literal through both
 * the reader (raw-imap.ts) and the APPEND connection (appender.ts).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fakeImapServer } from '../../test/harness/fake-imap.js';
import { parseListLine, parseNamespace, rawListing, type ListingConn } from './listing.js';
import { targetInfo } from './folders.js';
import { RawImap } from './raw-imap.js';
import { PipelinedAppender } from './appender.js';

test('parseListLine: quoted, escaped, atom and NIL parts; extended data ignored; wire names kept as listed', () => {
  assert.deepEqual(parseListLine('* LIST (\\HasNoChildren \\Sent) "/" "Sent"'), { wire: 'Sent', delimiter: '/', flags: ['\\HasNoChildren', '\\Sent'] });
  assert.deepEqual(parseListLine('* list () "." "a\\"b\\\\c"'), { wire: 'a"b\\c', delimiter: '.', flags: [] });
  assert.deepEqual(parseListLine('* LIST (\\HasChildren) "." INBOX'), { wire: 'INBOX', delimiter: '.', flags: ['\\HasChildren'] });
  assert.deepEqual(parseListLine('* LIST (\\Noselect) NIL "Flat"'), { wire: 'Flat', delimiter: null, flags: ['\\Noselect'] });
  assert.deepEqual(parseListLine('* LIST (\\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))'), { wire: 'Foo', delimiter: '/', flags: ['\\Subscribed'] });
  assert.deepEqual(parseListLine('* LIST () "/" "Entw&APw-rfe/a.b+c"'), { wire: 'Entw&APw-rfe/a.b+c', delimiter: '/', flags: [] });
  assert.deepEqual(parseListLine('* LSUB () "/" "Work"', 'LSUB'), { wire: 'Work', delimiter: '/', flags: [] });
  assert.equal(parseListLine('* LSUB () "/" "Work"'), undefined, 'an LSUB line is not a LIST line');
  assert.equal(parseListLine('* LIST (\\HasNoChildren "/" "Sent"'), undefined);
  assert.equal(parseListLine('* LIST () "/"'), undefined);
  assert.equal(parseListLine('* LIST () "/" "unterminated'), undefined);
  assert.equal(parseListLine('* LIST () ("/") "x"'), undefined);
});

test('parseNamespace: the first personal namespace, NIL as null, unreadable as undefined', () => {
  assert.deepEqual(parseNamespace('* NAMESPACE (("" "/")) NIL NIL'), { prefix: '', delimiter: '/' });
  assert.deepEqual(parseNamespace('* NAMESPACE (("INBOX." ".")("#mine." ".")) NIL (("#shared." "."))'), { prefix: 'INBOX.', delimiter: '.' });
  assert.deepEqual(parseNamespace('* NAMESPACE (("" NIL)) NIL NIL'), { prefix: '', delimiter: null });
  assert.deepEqual(parseNamespace('* NAMESPACE (("" "/" "X-PARAM" ("A" "B"))) NIL NIL'), { prefix: '', delimiter: '/' });
  assert.equal(parseNamespace('* NAMESPACE NIL NIL NIL'), null);
  assert.equal(parseNamespace('* NAMESPACE ("" "/") NIL NIL'), undefined);
  assert.equal(parseNamespace('* NAMESPACE (("" "/") NIL NIL'), undefined);
});

/** A scripted connection: answers per command verb, and the command lines it was sent. */
function fakeConn(caps: string[], answers: Record<string, { status?: string; untagged: string[] }>): ListingConn & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    caps: new Set(caps),
    command: (line) => {
      sent.push(line);
      const a = answers[line.split(' ')[0]!] ?? { untagged: [] };
      return Promise.resolve({ status: a.status ?? 'OK done', untagged: a.untagged });
    },
  };
}

const dovecotLike = {
  LIST: { untagged: ['* LIST (\\HasChildren) "/" "INBOX"', '* LIST (\\HasNoChildren \\Sent) "/" "Sent"', '* LIST (\\HasNoChildren \\Sent) "/" "Archive/Sent"',
    '* LIST (\\HasNoChildren \\Trash) "/" "Trash"', '* LIST (\\NonExistent) "/" "Gone"', '* LIST (\\HasNoChildren) "/" "Work"', '* OK unrelated'] },
  LSUB: { untagged: ['* LSUB () "/" "Work"', '* LSUB () "/" "Deleted/Long/Ago"', '* LSUB (\\Noselect) "/" "Gone"'] },
  NAMESPACE: { untagged: ['* NAMESPACE (("" "/")) NIL NIL'] },
};

test('rawListing: LIST, LSUB and NAMESPACE merged; \\NonExistent is \\Noselect; announced uses only with SPECIAL-USE', async () => {
  const conn = fakeConn(['IMAP4REV1', 'SPECIAL-USE', 'NAMESPACE'], dovecotLike);
  const l = await rawListing(conn);
  assert.deepEqual(conn.sent, ['LIST "" "*"', 'LSUB "" "*"', 'NAMESPACE']);
  assert.ok(l);
  assert.deepEqual(l.namespace, { prefix: '', delimiter: '/' });
  const by = new Map(l.folders.map((f) => [f.wire, f]));
  assert.deepEqual([...by.keys()], ['INBOX', 'Sent', 'Archive/Sent', 'Trash', 'Gone', 'Work'], 'a subscription LIST does not show is no folder');
  assert.equal(by.get('INBOX')!.subscribed, true, 'INBOX counts as subscribed');
  assert.equal(by.get('Work')!.subscribed, true);
  assert.equal(by.get('Trash')!.subscribed, false);
  assert.deepEqual(by.get('Gone')!.flags, ['\\NonExistent', '\\Noselect']);
  assert.equal(by.get('Sent')!.specialUse, '\\Sent');
  const info = targetInfo(l);
  assert.equal(info.specialUse['\\Sent'], 'Sent', 'the shallowest folder announced for a use is the target for it');
  assert.equal(info.specialUse['\\Trash'], 'Trash');
  assert.equal(info.delimiter, '/');
  assert.ok(info.existing.has('Archive/Sent') && info.subscribed.has('Work') && !info.subscribed.has('Trash'));

  const plain = await rawListing(fakeConn(['IMAP4REV1'], dovecotLike));
  assert.ok(plain);
  assert.equal(plain.folders.find((f) => f.wire === 'Sent')!.specialUse, undefined, 'no SPECIAL-USE: the attribute stays a flag only');
  assert.ok(plain.folders.find((f) => f.wire === 'Sent')!.flags.includes('\\Sent'));
  assert.deepEqual(plain.namespace, { prefix: '', delimiter: '/' }, 'no NAMESPACE: "" and the delimiter of INBOX');
});

test('rawListing: undefined (imapflow answers instead) for IMAP4rev2-only, XLIST-only, a refused command or an unreadable line', async () => {
  assert.equal(await rawListing(fakeConn(['IMAP4REV2'], dovecotLike)), undefined);
  assert.equal(await rawListing(fakeConn(['IMAP4REV1', 'XLIST'], dovecotLike)), undefined);
  assert.equal(await rawListing(fakeConn(['IMAP4REV1'], { ...dovecotLike, LSUB: { status: 'BAD unknown command', untagged: [] } })), undefined);
  assert.equal(await rawListing(fakeConn(['IMAP4REV1', 'NAMESPACE'], { ...dovecotLike, NAMESPACE: { untagged: ['* NAMESPACE ("" "/") NIL NIL'] } })), undefined);
  assert.equal(await rawListing(fakeConn(['IMAP4REV1'], { ...dovecotLike, LIST: { untagged: ['* LIST (\\HasNoChildren "/" "Sent"'] } })), undefined);
  assert.ok(await rawListing(fakeConn(['IMAP4REV1', 'NAMESPACE'], { ...dovecotLike, NAMESPACE: { untagged: ['* NAMESPACE NIL NIL NIL'] } })));
});

/**
 * A fake IMAP server (unit test): LOGIN, LIST with one name as a literal, LSUB, NAMESPACE; written 3 bytes at a time.
 * `quietLogin`: the greeting announces no NAMESPACE and the LOGIN answer no capabilities (only CAPABILITY tells).
 */
function fakeServer(quietLogin: boolean): Promise<{ port: number; close: () => void }> {
  const caps = 'IMAP4rev1 LITERAL+ NAMESPACE SPECIAL-USE';
  const greeting = quietLogin ? '* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n' : `* OK [CAPABILITY ${caps}] ready\r\n`;
  return fakeImapServer(greeting, (send, socket) => {
    let name = '';
    return (line) => {
      const [tag, cmd] = line.split(' ');
      if (cmd === 'LOGIN') send(quietLogin ? `${tag} OK in\r\n` : `${tag} OK [CAPABILITY ${caps}] in\r\n`);
      else if (cmd === 'CAPABILITY') send(`* CAPABILITY ${caps}\r\n${tag} OK caps\r\n`);
      else if (cmd === 'LIST') {
        // The name holds a CRLF and, after it, what looks like this command's tagged OK.
        name = `q"x\\y\r\n${tag} OK z`;
        send(`* LIST (\\HasNoChildren) "/" {${name.length}}\r\n${name}\r\n* LIST (\\Sent) "/" "Sent"\r\n* LIST () "/" {0}\r\n\r\n${tag} OK listed\r\n`);
      } else if (cmd === 'LSUB') send(`* LSUB () "/" {${name.length}}\r\n${name}\r\n${tag} OK subscribed\r\n`);
      else if (cmd === 'NAMESPACE') send(`* NAMESPACE (("${quietLogin ? 'INBOX/' : ''}" "/")) NIL NIL\r\n${tag} OK ns\r\n`);
      else if (cmd === 'LOGOUT') socket.end();
      else send(`${tag} BAD what\r\n`);
    };
  }, 3);
}

/** The reader (raw-imap.ts) and the APPEND connection (appender.ts), both logged in to a fresh fake server. */
async function bothConnections(t: TestContext, quietLogin: boolean): Promise<(RawImap | PipelinedAppender)[]> {
  const srv = await fakeServer(quietLogin);
  t.after(() => srv.close());
  const ep = { host: '127.0.0.1', port: srv.port, tls: 'none' as const };
  const reader = await RawImap.open(ep, { user: 'u', pass: 'p' }, 'fake');
  const appender = await PipelinedAppender.open(ep, { user: 'u', pass: 'p' });
  t.after(() => { reader.close(); appender.close(); });
  return [reader, appender];
}

test('rawListing on the reader and on the APPEND connection: a name sent as a literal (with CRLF, quote and a tag-like text in it)', async (t) => {
  for (const conn of await bothConnections(t, false)) {
    const l = await rawListing(conn);
    assert.ok(l, conn.constructor.name);
    const [lit, sent, empty] = l.folders;
    assert.match(lit!.wire, /^q"x\\y\r\n[AR]\d+ OK z$/, 'the whole literal is the name');
    assert.equal(lit!.subscribed, true, 'the LSUB literal names the same folder');
    assert.equal(sent!.wire, 'Sent');
    assert.equal(empty!.wire, '', 'an empty literal');
    assert.equal(l.folders.length, 3);
    assert.equal(sent!.specialUse, '\\Sent');
    assert.deepEqual(l.namespace, { prefix: '', delimiter: '/' });
  }
});

test('the capabilities after login are asked for when the LOGIN answer does not carry them (NAMESPACE is then used)', async (t) => {
  for (const conn of await bothConnections(t, true)) {
    assert.ok(conn.caps.has('NAMESPACE') && conn.caps.has('SPECIAL-USE'), conn.constructor.name);
    const l = await rawListing(conn);
    assert.deepEqual(l?.namespace, { prefix: 'INBOX/', delimiter: '/' }, conn.constructor.name);
  }
});
