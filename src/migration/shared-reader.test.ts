/**
 * Unit test of one reader shared by two folders (shared-reader.ts) against a fake IMAP server on a local socket
 * that keeps a selected mailbox per connection: the same UIDs in two folders, their FETCHes pipelined behind the
 * EXAMINEs that switch between them, each answer routed to its own folder; a pinned folder's commands go first;
 * a folder whose UIDVALIDITY changed under the pass stops it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeImapServer } from '../../test/harness/fake-imap.js';
import { MbError } from '../core/index.js';
import { RawImap } from './raw-imap.js';
import { SharedReader } from './shared-reader.js';

const body = (folder: string, uid: number): Buffer => Buffer.from(`Subject: ${folder} ${uid}\r\n\r\n${folder.repeat(uid * 37)}\r\n`);

/** Folders A and B, each with UIDs 1..6; `validity` is read at every EXAMINE (a test may change it). */
async function server(trickle: boolean, validity: Record<string, number>) {
  const commands: string[] = [];
  const srv = await fakeImapServer('* OK [CAPABILITY IMAP4rev1 CONDSTORE] ready\r\n', (send, socket) => {
    let selected: string | undefined;
    return (line) => {
      const [tag, cmd, ...rest] = line.split(' ');
      const c = `${cmd} ${rest[0] ?? ''}`.toUpperCase();
      if (cmd !== 'LOGIN') commands.push(line.slice(tag!.length + 1));
      if (cmd === 'LOGIN') send(`${tag} OK [CAPABILITY IMAP4rev1 CONDSTORE] logged in\r\n`);
      else if (cmd === 'EXAMINE') {
        selected = rest[0]!.replace(/"/g, '');
        send(`* 6 EXISTS\r\n* OK [UIDVALIDITY ${validity[selected]}] ok\r\n* OK [HIGHESTMODSEQ 9] ok\r\n${tag} OK [READ-ONLY] done\r\n`);
      } else if (!selected) send(`${tag} BAD no mailbox selected\r\n`);
      else if (c === 'UID SEARCH') send(`* SEARCH 1 2 3 4 5 6\r\n${tag} OK done\r\n`);
      else if (c === 'UID FETCH') {
        const uids = rest[1]!.split(',').flatMap((p) => { const [a, b] = p.split(':').map(Number); return b ? Array.from({ length: b - a! + 1 }, (_, k) => a! + k) : [a!]; });
        if (line.includes('RFC822.SIZE')) {
          send(uids.map((u) => `* ${u} FETCH (UID ${u} RFC822.SIZE ${body(selected!, u).length} FLAGS (\\Seen) INTERNALDATE " 2-Jan-2020 03:04:05 +0100")\r\n`).join('') + `${tag} OK done\r\n`);
        } else {
          send(Buffer.concat([...uids.flatMap((u) => {
            const b = body(selected!, u);
            return [Buffer.from(`* ${u} FETCH (UID ${u} BODY[] {${b.length}}\r\n`), b, Buffer.from(')\r\n')];
          }), Buffer.from(`${tag} OK done\r\n`)]));
        }
      } else if (tag === 'Z') socket.end();
      else send(`${tag} BAD unknown\r\n`);
    };
  }, trickle ? 7 : undefined);
  const raw = await RawImap.open({ host: '127.0.0.1', port: srv.port, tls: 'none' }, { user: 'u', pass: 'p' }, 'fake');
  return { srv, raw, commands };
}

for (const trickle of [false, true]) {
  test(`SharedReader: two folders with the same UIDs, FETCHes interleaved, each answer to its own folder (${trickle ? '7-byte chunks' : 'whole writes'})`, async (t) => {
    const { srv, raw, commands } = await server(trickle, { A: 11, B: 22 });
    t.after(() => { raw.close(); srv.close(); });
    const shared = new SharedReader(raw);
    const a = shared.folder('A');
    const b = shared.folder('B');
    assert.equal((await a.examine()).uidValidity, 11);
    assert.equal((await b.examine()).uidValidity, 22);
    // All sent before any answer comes: A's FETCH answers arrive while B's FETCHes, for the same UIDs, are in flight.
    const got = await Promise.all([a.fetchBodies([1, 2]), b.fetchBodies([1, 2]), a.fetchBodies([3, 4, 5]), b.fetchMeta('3:4'), b.fetchBodies([6]), a.fetchBodies([6])]);
    const check = (m: Map<number, Buffer>, folder: string, uids: number[]) => {
      assert.deepEqual([...m.keys()].sort((x, y) => x - y), uids);
      for (const u of uids) assert.ok(m.get(u)!.equals(body(folder, u)), `${folder} ${u}`);
    };
    check(got[0], 'A', [1, 2]);
    check(got[1], 'B', [1, 2]);
    check(got[2], 'A', [3, 4, 5]);
    assert.deepEqual(got[3].map((x) => [x.uid, x.size]), [[3, body('B', 3).length], [4, body('B', 4).length]]);
    check(got[4], 'B', [6]);
    check(got[5], 'A', [6]);
    // Nobody pinned: each command behind an EXAMINE of its folder where the other one was selected last.
    const after = commands.slice(commands.indexOf('EXAMINE "B" (CONDSTORE)') + 1);
    assert.deepEqual(after.map((l) => l.replace(/ \(.*$/, '').replace(/^UID FETCH (\S+).*/, 'FETCH $1')),
      ['EXAMINE "A"', 'FETCH 1:2', 'EXAMINE "B"', 'FETCH 1:2', 'EXAMINE "A"', 'FETCH 3:5', 'EXAMINE "B"', 'FETCH 3:4', 'FETCH 6', 'EXAMINE "A"', 'FETCH 6']);
  });
}

test('SharedReader: a pinned folder keeps the connection while it reads its metadata; the other folder goes next', async (t) => {
  const { srv, raw, commands } = await server(false, { A: 11, B: 22 });
  t.after(() => { raw.close(); srv.close(); });
  const shared = new SharedReader(raw);
  const a = shared.folder('A');
  const b = shared.folder('B');
  a.pin();
  await a.examine();
  // B's first command waits for A's turn to end.
  const bDone = (async () => {
    b.pin();
    await b.examine();
    const u = await b.searchUids('UID 1:*');
    const m = await b.fetchMeta('1:6');
    b.unpin();
    return [u, m.length];
  })();
  assert.deepEqual(await a.searchUids('UID 1:*'), [1, 2, 3, 4, 5, 6]);
  assert.equal((await a.fetchMeta('1:6')).length, 6);
  const first = a.fetchBodies([1, 2, 3]);
  a.unpin();
  // Queued behind B, whose turn comes once A's FETCH is answered.
  const second = a.fetchBodies([4, 5, 6]);
  assert.deepEqual(await bDone, [[1, 2, 3, 4, 5, 6], 6]);
  assert.equal((await first).size, 3);
  assert.ok((await second).get(4)!.equals(body('A', 4)));
  const ops = commands.map((l) => l.replace(/ \(.*$/, '').replace(/^UID (\S+) (\S+).*/, '$1 $2'));
  assert.deepEqual(ops, ['EXAMINE "A"', 'SEARCH UID', 'FETCH 1:6', 'FETCH 1:3', 'EXAMINE "B"', 'SEARCH UID', 'FETCH 1:6', 'EXAMINE "A"', 'FETCH 4:6']);
});

test('SharedReader: a folder whose UIDVALIDITY changed when it is selected again fails its command (transient: the pass is retried)', async (t) => {
  const validity = { A: 11, B: 22 };
  const { srv, raw } = await server(false, validity);
  t.after(() => { raw.close(); srv.close(); });
  const shared = new SharedReader(raw);
  const a = shared.folder('A');
  await a.examine();
  await shared.folder('B').examine();
  validity.A = 12;
  await assert.rejects(a.fetchBodies([1]), (err: unknown) => MbError.is(err) && err.retry === 'transient' && /UIDVALIDITY changed during the pass \(11 to 12\)/.test(err.message));
});
