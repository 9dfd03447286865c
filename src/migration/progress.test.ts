import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedInFolder } from './expected.js';
import { TtyProgress, applyProgress, formatDuration, newProgress, renderProgress } from './progress.js';
import { emptyCounts, type ProgressEvent, type UserPassReport } from './types.js';

const report = (address: string, ok: boolean): UserPassReport => ({ address, ok, dryRun: false, folders: [], totals: emptyCounts(), refusals: [], merges: [], collisions: [], ms: 0 });

test('renderProgress: per user and total messages, bytes, rate and ETA', () => {
  const s = newProgress(0, 2);
  const ev: [number, ProgressEvent][] = [
    [0, { type: 'user-start', address: 'a@example.com' }],
    [0, { type: 'estimate', address: 'a@example.com', messages: 100 }],
    [0, { type: 'user-start', address: 'bob@example.com' }],
    [0, { type: 'estimate', address: 'bob@example.com', messages: 300 }],
    [5000, { type: 'messages', address: 'a@example.com', folder: 'INBOX', messages: 50, bytes: 5 * 1048576 }],
    [10000, { type: 'messages', address: 'bob@example.com', folder: 'Sent', messages: 100, bytes: 1048576 }],
  ];
  for (const [t, e] of ev) applyProgress(s, e, t);
  assert.deepEqual(renderProgress(s, 10_000, 200), [
    'a@example.com    [######------] 50/100 msgs  5.0 MB  5.0 msg/s  512.0 KB/s  ETA 0:10  INBOX',
    'bob@example.com  [####--------] 100/300 msgs  1.0 MB  10 msg/s  102.4 KB/s  ETA 0:20  Sent',
    'total 0/2 users  [#####-------] 150/400 msgs  6.0 MB  15 msg/s  614.4 KB/s  ETA 0:17',
  ]);
  applyProgress(s, { type: 'user-end', address: 'a@example.com', ok: false, report: report('a@example.com', false) }, 11_000);
  applyProgress(s, { type: 'throttled', address: 'bob@example.com', system: 'cloud', concurrency: 1, waitMs: 1000 }, 11_000);
  const lines = renderProgress(s, 11_000, 40);
  assert.equal(lines.length, 2, 'a finished user leaves the live block');
  assert.ok(lines.every((l) => l.length <= 40), 'lines fit the terminal');
  assert.match(renderProgress(s, 11_000, 200)[1]!, /^total 1\/2 users \(1 failed\) .* 150\/350 msgs .* throttled 1x$/);
});

test('renderProgress: no ETA while a user\'s expectation is unknown', () => {
  const s = newProgress(0, 3);
  applyProgress(s, { type: 'messages', address: 'a@example.com', folder: 'INBOX', messages: 10, bytes: 100 }, 1000);
  const [user, total] = renderProgress(s, 1000);
  assert.equal(user, 'a@example.com  [            ] 10 msgs  100 B  10 msg/s  100 B/s  INBOX');
  assert.doesNotMatch(total!, /ETA/);
  assert.equal(formatDuration(3725), '1:02:05');
});

test('TtyProgress: redraws the block in place with ANSI, at most every interval, finished users scroll above', () => {
  const out: string[] = [];
  let now = 0;
  const tty = new TtyProgress({ isTTY: true, columns: 60, write: (c: string) => out.push(c) }, () => now, { userCount: 1, intervalMs: 200 });
  tty.update({ type: 'user-start', address: 'a@example.com' });
  assert.equal(out.length, 1);
  assert.ok(!out[0]!.includes('\x1b[2F'), 'first draw does not move up');
  assert.equal(out[0]!.split('\n').length - 1, 2, 'user line and total line');
  now = 100;
  tty.update({ type: 'messages', address: 'a@example.com', folder: 'INBOX', messages: 1, bytes: 10 });
  assert.equal(out.length, 1, 'throttled redraw');
  now = 300;
  tty.update({ type: 'messages', address: 'a@example.com', folder: 'INBOX', messages: 1, bytes: 10 });
  assert.equal(out.length, 2);
  assert.ok(out[1]!.startsWith('\x1b[2F'), 'moves up over the two lines drawn');
  assert.ok(out[1]!.endsWith('\x1b[J'));
  for (const line of out[1]!.split('\n').slice(0, -1)) assert.ok(line.replace(/\x1b\[\d*[FKJ]/g, '').length <= 60);
  now = 400;
  tty.update({ type: 'user-end', address: 'a@example.com', ok: true, report: report('a@example.com', true) });
  assert.match(out[2]!, /^\x1b\[2Fok {4} a@example\.com: 2 msgs, 20 B in 0:00\x1b\[K\ntotal 1\/1 users/);
  now = 500;
  tty.finish();
  assert.ok(out[3]!.startsWith('\x1b[1F'), 'only the live block is redrawn, not the finished line');
});

test('expectedInFolder: all messages without state, only UIDs above the highest done with it', () => {
  assert.equal(expectedInFolder({ messages: 40, uidNext: 41, uidValidity: 7n }, undefined), 40);
  assert.equal(expectedInFolder({ messages: 40, uidNext: 51, uidValidity: 7n }, { uid_validity: 7, highest_uid: 45 }), 5);
  assert.equal(expectedInFolder({ messages: 40, uidNext: 51, uidValidity: 8n }, { uid_validity: 7, highest_uid: 45 }), 40);
  assert.equal(expectedInFolder({ messages: 3, uidNext: 100, uidValidity: 7n }, { uid_validity: 7, highest_uid: 10 }), 3);
});
