/**
 * The broker across systems, against real Radicales: a person on each system
 * (two Radicales), a system whose CalDAV server is down (closed port) or hangs
 * (accepts and never answers), and the cache (requests counted by a proxy in
 * front of Radicale).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { freePort, type RadicaleInfo } from '../../harness/index.js';
import { caldavSystem, calendarPerson, countingProxy, makeBroker, privateRadicale, put, show, useCalendarLab, vcalendar } from './setup.js';

const WINDOW = { start: new Date('2030-03-01T00:00:00Z'), end: new Date('2030-03-10T00:00:00Z') };
const meeting = (uid: string, hour: number) => vcalendar([[`UID:${uid}`, `DTSTART:20300304T${String(hour).padStart(2, '0')}0000Z`, `DTEND:20300304T${String(hour + 1).padStart(2, '0')}0000Z`]]);

describe('free/busy across systems', () => {
  const lab = useCalendarLab();
  let legacy: RadicaleInfo;
  let cloud: RadicaleInfo;
  let hang: net.Server;
  const held: net.Socket[] = [];

  before(async () => {
    legacy = lab();
    cloud = await privateRadicale();
    // A server that accepts and never answers: the per-source timeout must end the wait.
    hang = net.createServer((s) => { held.push(s); });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((r) => hang.close(() => r()));
  });

  it('answers for a person on each system from that system\'s own Radicale, aliases included', async () => {
    const alice = await calendarPerson(legacy, 'legacy');
    const bob = await calendarPerson(cloud, 'cloud');
    await put(legacy, alice.calendarUrl, 'a1', meeting('a1', 9));
    await put(cloud, bob.calendarUrl, 'b1', meeting('b1', 14));
    const broker = makeBroker({
      systems: { legacy: caldavSystem('legacy', legacy), cloud: caldavSystem('cloud', cloud) },
      usersCsv: { legacy: `address,name,aliases\n${alice.address},Alice,\n`, cloud: `${bob.address},Bob,bob.alias@example.com\n` },
    });
    const ans = await broker.lookup([alice.address, 'bob.alias@example.com'], WINDOW);
    assert.deepEqual(ans.attendees.map((a) => [a.address, a.system, a.status, show(a.periods)]), [
      [alice.address, 'legacy', 'ok', ['2030-03-04T09:00Z/2030-03-04T10:00Z BUSY']],
      ['bob.alias@example.com', 'cloud', 'ok', ['2030-03-04T14:00Z/2030-03-04T15:00Z BUSY']],
    ]);
  });

  it('gives a per-attendee status when a system is down or hangs, and still answers the others', async () => {
    const alice = await calendarPerson(legacy, 'up');
    await put(legacy, alice.calendarUrl, 'u1', meeting('u1', 9));
    const closed = await freePort();
    const hangPort = (hang.address() as AddressInfo).port;
    const broker = makeBroker({
      timeout: 500,
      systems: {
        legacy: caldavSystem('legacy', legacy),
        cloud: caldavSystem('cloud', legacy, {}, `http://127.0.0.1:${closed}/`),
        third: caldavSystem('third', legacy, {}, `http://127.0.0.1:${hangPort}/`),
      },
      usersCsv: { legacy: `${alice.address}\n`, cloud: 'down@example.com\n', third: 'slow@example.com\n' },
    });
    const t0 = Date.now();
    const ans = await broker.lookup([alice.address, 'down@example.com', 'slow@example.com', 'stranger@example.com'], WINDOW);
    const took = Date.now() - t0;
    assert.deepEqual(ans.attendees.map((a) => [a.status, a.error?.code ?? null, a.periods.length]), [
      ['ok', null, 1],
      ['unreachable', 'CALENDAR_SOURCE_UNREACHABLE', 0],
      ['timeout', 'CALENDAR_SOURCE_TIMEOUT', 0],
      ['unknown', 'CALENDAR_ADDRESS_UNKNOWN', 0],
    ]);
    assert.ok(took >= 450 && took < 3000, `the hanging source is given up after the 500 ms timeout (took ${took} ms)`);
  });

  it('says not-found for a person without a calendar home and denied for wrong credentials', async () => {
    const broker = makeBroker({
      systems: {
        legacy: caldavSystem('legacy', legacy),
        cloud: { ...caldavSystem('cloud', legacy), caldav: { url: legacy.url, user: 'admin', home: '{local}/' } },
      },
      usersCsv: { legacy: 'fb-nohome-0@example.com\n', cloud: 'fb-denied-0@example.com\n' },
    });
    const ans = await broker.lookup(['fb-nohome-0@example.com', 'fb-denied-0@example.com'], WINDOW);
    assert.deepEqual(ans.attendees.map((a) => a.status), ['not-found', 'denied']);
  });

  it('serves a second lookup from the cache without a request to Radicale, then stale while it refreshes', async () => {
    const carol = await calendarPerson(legacy, 'cache');
    await put(legacy, carol.calendarUrl, 'c1', meeting('c1', 9));
    const proxy = await countingProxy(legacy.url);
    let now = Date.parse('2030-02-01T00:00:00Z');
    const broker = makeBroker({ cacheTtl: 60_000, now: () => now, systems: { legacy: caldavSystem('legacy', legacy, {}, proxy.url) }, usersCsv: { legacy: `${carol.address}\n` } });

    const first = (await broker.lookup([carol.address], WINDOW)).attendees[0]!;
    assert.equal(first.cache, 'miss');
    assert.deepEqual(proxy.methods, ['PROPFIND', 'REPORT'], 'discovery, then one calendar-query');

    const second = (await broker.lookup([carol.address], WINDOW)).attendees[0]!;
    assert.equal(second.cache, 'fresh');
    assert.deepEqual(show(second.periods), show(first.periods));
    assert.equal(proxy.count(), 2, 'no request reached Radicale for the cached answer');

    // A new event, then past the TTL: the stale answer comes at once while one background
    // refresh fetches the new state (one REPORT: the list of calendars is kept for 5 minutes).
    await put(legacy, carol.calendarUrl, 'c2', meeting('c2', 15));
    now += 61_000;
    const stale = (await broker.lookup([carol.address], WINDOW)).attendees[0]!;
    assert.equal(stale.cache, 'stale');
    assert.equal(stale.periods.length, 1);
    // The background refresh is one request; lookups while it is in flight are
    // still answered stale, then the refreshed answer is fresh.
    let fresh = stale;
    const until = Date.now() + 5000;
    while (fresh.cache !== 'fresh') {
      if (Date.now() > until) throw new Error('the refreshed answer did not arrive within 5 s');
      await new Promise((r) => setTimeout(r, 10));
      fresh = (await broker.lookup([carol.address], WINDOW)).attendees[0]!;
    }
    assert.deepEqual(proxy.methods, ['PROPFIND', 'REPORT', 'REPORT'], 'exactly one refresh');
    assert.deepEqual(show(fresh.periods), ['2030-03-04T09:00Z/2030-03-04T10:00Z BUSY', '2030-03-04T15:00Z/2030-03-04T16:00Z BUSY']);
  });
});

/** Polls a condition on the event loop (no fixed sleep); fails after 5 s. */
