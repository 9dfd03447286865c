import { test } from 'node:test';
import assert from 'node:assert/strict';
import { laneWork, lanesFor, runLanes } from './lanes.js';

const maps = [
  { source: 'INBOX', target: 'INBOX' }, { source: 'Sent', target: 'Sent' }, { source: 'Sent Items', target: 'Sent' },
  { source: 'Work', target: 'Work' }, { source: 'Empty', target: 'Empty' },
];

test('laneWork: folders that share a target folder are one unit, in plan order; largest expected copy first', () => {
  const w = laneWork(maps, new Map([['INBOX', 10], ['Sent', 300], ['Sent Items', 5], ['Work', 200]]));
  assert.deepEqual(w, [{ items: [1, 2], expected: 305 }, { items: [3], expected: 200 }, { items: [0], expected: 10 }, { items: [4], expected: 0 }]);
  // Nothing expected (an unchanged mailbox): plan order.
  assert.deepEqual(laneWork(maps, new Map()).map((x) => x.items), [[0], [1, 2], [3], [4]]);
});

test('lanesFor: a second lane only for a pass that copies enough, over two units or more', () => {
  const work = laneWork(maps, new Map([['INBOX', 600], ['Work', 600]]));
  assert.equal(lanesFor(undefined, undefined, work, 1200), 2);
  assert.equal(lanesFor(undefined, undefined, work, 999), 1, 'below the default 1,000 messages');
  assert.equal(lanesFor(1, undefined, work, 1200), 1, 'configured to one');
  assert.equal(lanesFor(4, undefined, work, 1200), 2, 'no more lanes than units with something to copy');
  assert.equal(lanesFor(4, 1, laneWork(maps, new Map([['INBOX', 5]])), 5), 1, 'one unit with messages');
  assert.equal(lanesFor(4, 1, laneWork(maps, new Map()), 0), 1, 'nothing to copy');
});

test('runLanes: every folder once, each unit on one lane in order, the lanes at once', async () => {
  const work = laneWork(maps, new Map([['INBOX', 10], ['Sent', 300], ['Sent Items', 5], ['Work', 200]]));
  const ran: [string, number][] = [];
  let active = 0;
  let most = 0;
  const failed = await runLanes(['a', 'b'], work, async (lane, i) => {
    most = Math.max(most, ++active);
    await new Promise((r) => setTimeout(r, i === 1 ? 20 : 5));
    ran.push([lane, i]);
    active--;
    return { done: Promise.resolve() };
  });
  assert.equal(failed, undefined);
  assert.deepEqual(ran.map(([, i]) => i).sort(), [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
  // The merge's two folders on one lane, the first before the second.
  const sent = ran.filter(([, i]) => i === 1 || i === 2);
  assert.equal(sent[0]![0], sent[1]![0]);
  assert.deepEqual(sent.map(([, i]) => i), [1, 2]);
});

test('runLanes: after a failure no lane starts another unit; the first failure is returned once all lanes stopped', async () => {
  const work = laneWork(maps, new Map());
  const started: number[] = [];
  let finished = 0;
  const boom = new Error('connection lost');
  const failed = await runLanes(['a', 'b'], work, async (_lane, i) => {
    started.push(i);
    if (i === 0) throw boom;
    await new Promise((r) => setTimeout(r, 10));
    finished++;
    return { done: Promise.resolve() };
  });
  assert.equal(failed?.error, boom);
  // Lane a failed on unit [0]; lane b had started unit [1, 2] and ran it to its end; nobody took [3] or [4].
  assert.deepEqual(started, [0, 1, 2]);
  assert.equal(finished, 2);
});

const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('runLanes: a lane starts its next folder while the last one\'s tail runs, one tail at a time; not within a merge', async () => {
  const work = laneWork(maps, new Map([['Sent', 300], ['Work', 200], ['INBOX', 10]]));
  const log: string[] = [];
  const failed = await runLanes(['a'], work, async (_lane, i) => {
    log.push(`start ${i}`);
    await later(2);
    return { done: later(15).then(() => { log.push(`done ${i}`); }) };
  });
  assert.equal(failed, undefined);
  // Units: [1, 2] (merge), [3], [0], [4]. Within the merge, 2 starts after 1 is done; 3 starts before 2 is done,
  // and 0 only once 2 is done (a lane keeps one tail); runLanes resolves after the last tail.
  assert.deepEqual(log, ['start 1', 'done 1', 'start 2', 'start 3', 'done 2', 'start 0', 'done 3', 'start 4', 'done 0', 'done 4']);
});

test('runLanes: a failing tail fails the pass, no new unit starts, and every tail settles before it resolves', async () => {
  const work = laneWork(maps, new Map([['Work', 200], ['INBOX', 10]]));
  const boom = new Error('APPEND: connection lost');
  const started: number[] = [];
  let settled = 0;
  const failed = await runLanes(['a'], work, async (_lane, i) => {
    started.push(i);
    if (i === 0) {
      // The next folder fails at once, while this tail still runs: runLanes waits for the tail anyway.
      return { done: later(20).then(() => { settled++; }) };
    }
    if (i === 1) throw boom;
    return { done: i === 3 ? later(5).then(() => { settled++; throw boom; }) : Promise.resolve() };
  });
  assert.equal(failed?.error, boom);
  // Units: [3], [0], [1, 2], [4]: 3's tail fails once 0 is sent; nothing after 0 starts; 0's tail settled.
  assert.deepEqual(started, [3, 0]);
  assert.equal(settled, 2);
});
