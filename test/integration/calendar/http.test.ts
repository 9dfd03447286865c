/**
 * The HTTP endpoint (fastify inject) with real sources behind it: Radicale for
 * CalDAV, and a closed port for a system that is down.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../../../src/core/secret.js';
import { createMetrics, silentLogger } from '../../../src/observe/index.js';
import { createWebServer, type WebServer } from '../../../src/web/index.js';
import type { FreeBusyAccessConfig } from '../../../src/web/freebusy-access.js';
import { freePort, type RadicaleInfo } from '../../harness/index.js';
import { caldavSystem, calendarPerson, makeBroker, put, useCalendarLab, vcalendar } from './setup.js';

describe('GET /freebusy/{address} and POST /freebusy', () => {
  const lab = useCalendarLab();
  let info: RadicaleInfo;
  let alice: { address: string; calendarUrl: string };
  let bob: { address: string; calendarUrl: string };
  let closed: number;

  before(async () => {
    info = lab();
    alice = await calendarPerson(info, 'http-a');
    bob = await calendarPerson(info, 'http-b');
    closed = await freePort();
    await put(info, alice.calendarUrl, 'h1', vcalendar([['UID:h1', 'DTSTART:20300304T090000Z', 'DTEND:20300304T100000Z', 'SUMMARY:Layoffs plan', 'LOCATION:Room 1', 'DESCRIPTION:do not leak']]));
    await put(info, bob.calendarUrl, 'h2', vcalendar([['UID:h2', 'DTSTART:20300304T110000Z', 'DTEND:20300304T113000Z', 'STATUS:TENTATIVE']]));
    // Something in the default window (from now), for the Outlook URL without start/end.
    const soon = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 86_400_000);
    const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    await put(info, alice.calendarUrl, 'h3', vcalendar([['UID:h3', `DTSTART:${stamp(soon)}`, `DTEND:${stamp(new Date(soon.getTime() + 3_600_000))}`]]));
  });

  function app(access?: FreeBusyAccessConfig): WebServer {
    const broker = makeBroker({
      systems: { legacy: caldavSystem('legacy', info), cloud: caldavSystem('cloud', info, {}, `http://127.0.0.1:${closed}/`) },
      usersCsv: { legacy: `${alice.address}\n${bob.address},Bob,bobby@example.com\n`, cloud: 'down@example.com\n' },
    });
    return createWebServer({
      log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [],
      freebusy: { broker, ...(access ? { access } : {}), now: () => Date.parse('2030-01-01T00:00:00Z') },
    });
  }
  const q = '?start=2030-03-04T00:00:00Z&end=2030-03-05T00:00:00Z';

  it('answers text/calendar with one VFREEBUSY, and never an event\'s text', async () => {
    const res = await app().inject({ url: `/freebusy/${alice.address}${q}` });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/calendar/);
    const body = res.body;
    assert.match(body, /^BEGIN:VCALENDAR\r\n/);
    assert.match(body, /\r\nBEGIN:VFREEBUSY\r\n/);
    assert.match(body, /\r\nDTSTART:20300304T000000Z\r\n/);
    assert.match(body, /\r\nDTEND:20300305T000000Z\r\n/);
    assert.match(body, new RegExp(`\\r\\nATTENDEE:mailto:${alice.address}\\r\\n`));
    assert.match(body, /\r\nFREEBUSY;FBTYPE=BUSY:20300304T090000Z\/20300304T100000Z\r\n/);
    assert.match(body, /\r\nX-MAILBRIDGE-STATUS:ok\r\n/);
    assert.doesNotMatch(body, /Layoffs|Room 1|do not leak|h1/);
  });

  it('answers JSON for Accept: application/json', async () => {
    const res = await app().inject({ url: `/freebusy/${encodeURIComponent('Bobby@Example.com')}${q}`, headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 200);
    const j = res.json();
    assert.equal(j.status, 'ok');
    assert.equal(j.system, 'legacy');
    assert.deepEqual(j.busy, [{ start: '2030-03-04T11:00:00.000Z', end: '2030-03-04T11:30:00.000Z', type: 'BUSY-TENTATIVE' }]);
    assert.equal(j.start, '2030-03-04T00:00:00.000Z');
  });

  it('works as Outlook\'s Internet free/busy URL: no start/end, %NAME%@%SERVER%, optional .vfb', async () => {
    for (const path of [`/freebusy/${alice.address}`, `/freebusy/${alice.address}.vfb`]) {
      const res = await app().inject({ url: path });
      assert.equal(res.statusCode, 200, path);
      assert.match(res.body, /\r\nFREEBUSY;FBTYPE=BUSY:/, path);
    }
  });

  it('answers 404 with a clear body for an unknown address', async () => {
    const res = await app().inject({ url: `/freebusy/nobody@example.com${q}` });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'CALENDAR_ADDRESS_UNKNOWN');
    assert.match(res.json().error, /nobody@example\.com is not a user of any system/);
  });

  for (const [name, query] of [
    ['a window over 62 days', '?start=2030-01-01T00:00:00Z&end=2030-03-05T00:00:00Z'],
    ['an end before the start', '?start=2030-03-05T00:00:00Z&end=2030-03-04T00:00:00Z'],
    ['an end equal to the start', '?start=2030-03-05T00:00:00Z&end=2030-03-05T00:00:00Z'],
    ['a malformed date', '?start=next%20tuesday&end=2030-03-05'],
    ['an impossible date', '?start=2030-02-30&end=2030-03-05'],
    ['a repeated start', '?start=2030-03-01&start=2030-03-02&end=2030-03-05'],
  ] as const) {
    it(`answers 400 for ${name}`, async () => {
      const res = await app().inject({ url: `/freebusy/${alice.address}${query}` });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'CALENDAR_WINDOW_INVALID');
    });
  }

  it('answers 400 for something that is not an address', async () => {
    const res = await app().inject({ url: `/freebusy/not-an-address${q}` });
    assert.equal(res.statusCode, 400);
  });

  it('answers 200 with a per-attendee status when the source is down', async () => {
    const res = await app().inject({ url: `/freebusy/down@example.com${q}`, headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'unreachable');
    const ics = await app().inject({ url: `/freebusy/down@example.com${q}` });
    assert.match(ics.body, /\r\nX-MAILBRIDGE-STATUS:unreachable\r\n/);
    assert.doesNotMatch(ics.body, /FREEBUSY;/);
  });

  it('POST answers several attendees at once, each with its own status', async () => {
    const res = await app().inject({
      method: 'POST', url: '/freebusy',
      payload: { attendees: [alice.address, bob.address, 'down@example.com', 'nobody@example.com'], start: '2030-03-04T00:00:00Z', end: '2030-03-05T00:00:00Z' },
    });
    assert.equal(res.statusCode, 200);
    const j = res.json();
    assert.deepEqual(j.attendees.map((a: { status: string; busy: unknown[] }) => [a.status, a.busy.length]), [['ok', 1], ['ok', 1], ['unreachable', 0], ['unknown', 0]]);
    const ics = await app().inject({
      method: 'POST', url: '/freebusy', headers: { accept: 'text/calendar' },
      payload: { attendees: [alice.address, bob.address], start: '2030-03-04T00:00:00Z', end: '2030-03-05T00:00:00Z' },
    });
    assert.equal(ics.body.match(/BEGIN:VFREEBUSY/g)?.length, 2);
    assert.equal(ics.body.match(/BEGIN:VCALENDAR/g)?.length, 1);
  });

  for (const [name, payload, type] of [
    ['no attendees', { attendees: [] }, 'application/json'],
    ['attendees that are not strings', { attendees: [1, 2] }, 'application/json'],
    ['a bad window', { attendees: ['a@example.com'], start: 'x' }, 'application/json'],
    ['malformed JSON', '{"attendees": [', 'application/json'],
    ['more than 100 attendees', { attendees: Array.from({ length: 101 }, (_, i) => `p${i}@example.com`) }, 'application/json'],
  ] as const) {
    it(`POST answers 400 for ${name}`, async () => {
      const res = await app().inject({ method: 'POST', url: '/freebusy', payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': type } });
      assert.equal(res.statusCode, 400, res.body);
    });
  }

  it('refuses clients outside the allowed networks and without the token', async () => {
    const token = new Secret('tok-123');
    const open = app({ allowNetworks: ['10.0.0.0/8'], token });
    const url = `/freebusy/${alice.address}${q}`;
    assert.equal((await open.inject({ url, remoteAddress: '10.1.2.3' })).statusCode, 200);
    const denied = await open.inject({ url, remoteAddress: '192.168.7.7' });
    assert.equal(denied.statusCode, 401);
    assert.match(denied.headers['www-authenticate'] as string, /^Bearer/);
    assert.equal((await open.inject({ url, remoteAddress: '192.168.7.7', headers: { authorization: 'Bearer tok-123' } })).statusCode, 200);
    assert.equal((await open.inject({ url, remoteAddress: '10.1.2.3', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
    const post = await open.inject({ method: 'POST', url: '/freebusy', remoteAddress: '192.168.7.7', payload: { attendees: [alice.address] } });
    assert.equal(post.statusCode, 401);

    const netOnly = app({ allowNetworks: ['10.0.0.0/8'] });
    assert.equal((await netOnly.inject({ url, remoteAddress: '192.168.7.7' })).statusCode, 403);
    const nothing = app();
    assert.equal((await nothing.inject({ url, remoteAddress: '192.168.7.7' })).statusCode, 403, 'unconfigured: loopback only');
    assert.equal((await nothing.inject({ url, remoteAddress: '127.0.0.1' })).statusCode, 200);
  });
});
