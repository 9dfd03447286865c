/**
 * The lab's Radicale: starts for real, users can be added while it runs, a
 * calendar made with MKCALENDAR holds a PUT event that a calendar-query REPORT
 * with a time-range returns, and wrong passwords are refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, labDir, labUser, stopPid } from '../../harness/process.js';
import {
  addCalendarUser, adminCredentials, calendarQuery, davFetch, icalUtc, putEvent, startRadicale,
} from '../../harness/radicale.js';
import type { RadicaleInfo, ServerRecord } from '../../harness/types.js';

function eventIcs(uid: string, start: Date, end: Date, summary: string): string {
  return [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//mailbridge//lab test//EN',
    'BEGIN:VEVENT', `UID:${uid}`, `DTSTAMP:${icalUtc(new Date())}`,
    `DTSTART:${icalUtc(start)}`, `DTEND:${icalUtc(end)}`, `SUMMARY:${summary}`,
    'END:VEVENT', 'END:VCALENDAR', '',
  ].join('\r\n');
}

describe('lab radicale', () => {
  // labDir: the lab user must be able to enter the (root-owned, 0700) temp dir.
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-radicale-')));
  let info: RadicaleInfo;
  let server: ServerRecord | undefined;

  before(async () => {
    const t0 = Date.now();
    ({ info, server } = await startRadicale(dir));
    console.log(`radicale ready in ${Date.now() - t0} ms on ${info.url}`);
  });

  after(async () => {
    if (server) await stopPid(server.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  void it('runs as the lab user, not root', () => {
    const status = readFileSync(`/proc/${server!.pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    assert.equal(uid, labUser().uid);
  });

  void it('returns a PUT event from a calendar-query REPORT with a time-range', async () => {
    const alice = await addCalendarUser(info, 'alice');
    const start = new Date('2030-03-04T09:00:00Z');
    const end = new Date('2030-03-04T10:30:00Z');
    await putEvent(info, alice.calendarUrl, 'evt-1@lab', eventIcs('evt-1@lab', start, end, 'Planning'));

    const hit = await calendarQuery(alice.calendarUrl, alice, new Date('2030-03-04T00:00:00Z'), new Date('2030-03-05T00:00:00Z'));
    assert.equal(hit.status, 207);
    assert.match(hit.xml, /UID:evt-1@lab/);
    assert.match(hit.xml, /DTSTART:20300304T090000Z/);

    const miss = await calendarQuery(alice.calendarUrl, alice, new Date('2030-03-05T00:00:00Z'), new Date('2030-03-06T00:00:00Z'));
    assert.equal(miss.status, 207);
    assert.doesNotMatch(miss.xml, /evt-1@lab/);
  });

  void it('lets admin read every calendar and keeps users out of each other\'s', async () => {
    const bob = await addCalendarUser(info, 'bob');
    const carol = await addCalendarUser(info, 'carol');
    const s = new Date('2030-01-01T00:00:00Z');
    const e = new Date('2030-12-31T00:00:00Z');
    assert.equal((await calendarQuery(bob.calendarUrl, adminCredentials(info), s, e)).status, 207);
    assert.equal((await calendarQuery(bob.calendarUrl, carol, s, e)).status, 403);
  });

  void it('answers 401 to a wrong password', async () => {
    const dave = await addCalendarUser(info, 'dave');
    const res = await davFetch(dave.calendarUrl, 'PROPFIND', { user: 'dave', password: 'wrong' }, undefined, { depth: '0' });
    await res.body?.cancel();
    assert.equal(res.status, 401);
  });

  void it('is stopped by PID', async () => {
    await stopPid(server!.pid);
    assert.equal(isAlive(server!.pid), false);
    server = undefined;
  });
});
