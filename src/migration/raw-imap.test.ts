/**
 * Unit test of the lean source reader against a fake IMAP server on a local
 * socket: literals split at every possible point, bodies that look like IMAP
 * responses, an empty literal, pipelined FETCHes answered for their own UIDs,
 * EXAMINE's codes and a refused command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeImapServer } from '../../test/harness/fake-imap.js';
import { RawImap, imapDateText, parseImapDate, uidSet } from './raw-imap.js';

const tricky = Buffer.from('Subject: x\r\n\r\n)\r\n* 5 FETCH (UID 9 BODY[] {3}\r\nR1 OK done\r\n\x00\xff end', 'latin1');
const bodies = new Map<number, Buffer>([[7, tricky], [9, Buffer.alloc(0)], [11, Buffer.from('a'.repeat(70_000))]]);

function fetchAnswer(uid: number, seq: number): Buffer {
  const b = bodies.get(uid)!;
  return Buffer.concat([Buffer.from(`* ${seq} FETCH (UID ${uid} BODY[] {${b.length}}\r\n`), b, Buffer.from(')\r\n')]);
}

/** A fake server that writes its answers 7 bytes at a time when `trickle` is set. */
function fakeServer(trickle: boolean): Promise<{ port: number; close: () => void }> {
  return fakeImapServer('* OK [CAPABILITY IMAP4rev1 CONDSTORE LITERAL+] ready\r\n', (send, socket) => (line) => {
    const [tag, cmd, ...rest] = line.split(' ');
    const c = `${cmd} ${rest[0] ?? ''}`.toUpperCase();
    if (cmd === 'LOGIN') send(Buffer.from(`${tag} OK [CAPABILITY IMAP4rev1 CONDSTORE] logged in\r\n`));
    else if (cmd === 'EXAMINE') {
      send(Buffer.from(`* 3 EXISTS\r\n* OK [UIDVALIDITY 4242] ok\r\n* OK [UIDNEXT 12] ok\r\n* OK [HIGHESTMODSEQ 99] ok\r\n${tag} OK [READ-ONLY] done\r\n`));
    } else if (c === 'UID SEARCH') send(Buffer.from(`* SEARCH 11 7 9\r\n${tag} OK done\r\n`));
    else if (c === 'UID FETCH') {
      const set = rest[1]!;
      if (set === '404') { send(Buffer.from(`${tag} NO [UNAVAILABLE] try later\r\n`)); return; }
      const uids = set.split(',').flatMap((p) => { const [a, b] = p.split(':').map(Number); return b ? Array.from({ length: b - a! + 1 }, (_, k) => a! + k) : [a!]; });
      if (line.includes('FLAGS')) {
        send(Buffer.from(uids.map((u, k) => `* ${k + 1} FETCH (UID ${u} RFC822.SIZE ${bodies.get(u)?.length ?? 0} FLAGS (\\Seen $Forwarded) INTERNALDATE " 2-Jan-2020 03:04:05 +0100")\r\n`).join('') + `${tag} OK done\r\n`));
      } else {
        send(Buffer.concat([...uids.map((u, k) => fetchAnswer(u, k + 1)), Buffer.from(`${tag} OK done\r\n`)]));
      }
    } else if (cmd === 'LOGOUT' || tag === 'Z') socket.end();
    else send(Buffer.from(`${tag} BAD unknown\r\n`));
  }, trickle ? 7 : undefined);
}

for (const trickle of [false, true]) {
  test(`RawImap: EXAMINE, SEARCH, metadata and pipelined body FETCHes, exact bytes (${trickle ? '7-byte chunks' : 'whole writes'})`, async (t) => {
    const srv = await fakeServer(trickle);
    t.after(srv.close);
    const c = await RawImap.open({ host: '127.0.0.1', port: srv.port, tls: 'none' }, { user: 'u', pass: 'p' }, 'fake');
    t.after(() => c.close());
    assert.ok(c.caps.has('CONDSTORE'));
    assert.deepEqual(await c.examine('INBOX'), { exists: 3, uidValidity: 4242, uidNext: 12, highestModseq: 99n });
    assert.deepEqual(await c.searchUids('UID 1:*'), [7, 9, 11]);
    const meta = await c.fetchMeta('7,9');
    // INTERNALDATE is kept as the server's text (sent back as is on APPEND); it is the instant below.
    assert.deepEqual(meta.map((m) => [m.uid, m.size, m.flags, m.internalDate]),
      [[7, tricky.length, ['\\Seen', '$Forwarded'], ' 2-Jan-2020 03:04:05 +0100'], [9, 0, ['\\Seen', '$Forwarded'], ' 2-Jan-2020 03:04:05 +0100']]);
    assert.equal(parseImapDate(meta[0]!.internalDate!)?.toISOString(), '2020-01-02T02:04:05.000Z');
    // Two FETCHes in flight at once: each gets only its own UIDs.
    const [a, b] = await Promise.all([c.fetchBodies([7, 9]), c.fetchBodies([11])]);
    assert.deepEqual([...a.keys()], [7, 9]);
    assert.ok(a.get(7)!.equals(tricky), 'a body that looks like IMAP responses comes through byte for byte');
    assert.equal(a.get(9)!.length, 0);
    assert.ok(b.get(11)!.equals(bodies.get(11)!));
    await assert.rejects(c.fetchBodies([404]), (err: Error) => /\[UNAVAILABLE\]/.test(err.message));
  });
}

test('uidSet and parseImapDate', () => {
  assert.equal(uidSet([9, 1, 2, 3, 5, 7, 8]), '1:3,5,7:9');
  assert.equal(uidSet([4]), '4');
  assert.equal(parseImapDate('31-Dec-1999 23:59:59 -0130')?.toISOString(), '2000-01-01T01:29:59.000Z');
  assert.equal(parseImapDate('garbage'), undefined);
  assert.equal(imapDateText(' 2-Jan-2020 03:04:05 +0100'), ' 2-Jan-2020 03:04:05 +0100');
  assert.equal(imapDateText('02-Foo-2020 03:04:05 +0100'), undefined);
  assert.equal(imapDateText('29-Feb-2024 23:59:59 -1130'), '29-Feb-2024 23:59:59 -1130');
  // Not valid as written: sent as the instant it names, in UTC (a target may refuse the text itself).
  assert.equal(imapDateText('2-Jan-2020 03:04:05 +0100'), ' 2-Jan-2020 02:04:05 +0000');
  assert.equal(imapDateText('29-Feb-2023 12:00:00 +0000'), ' 1-Mar-2023 12:00:00 +0000');
  assert.equal(imapDateText('01-Jan-2020 24:00:00 +0000'), ' 2-Jan-2020 00:00:00 +0000');
  assert.equal(imapDateText('02-Jan-2020 03:04:05 +0100" X'), undefined);
});
