/**
 * The published free/busy URL source (`freebusyUrl`), against a plain HTTP
 * server that serves files the way a web server publishes Outlook's .vfb and
 * .ics files. Also the limits that cannot go through Radicale: Radicale 3.1
 * itself hangs for minutes on a PUT of FREQ=SECONDLY;COUNT=1000000000, so the
 * recurrence cap is proven on a published calendar, as is broken iCalendar
 * (Radicale refuses to store it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeBroker, show, vcalendar } from './setup.js';
import type { FreeBusyBroker } from '../../../src/calendar/index.js';

const VFB = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN', 'METHOD:PUBLISH',
  'BEGIN:VFREEBUSY', 'ORGANIZER:mailto:pub@example.com', 'DTSTART:20300301T000000Z', 'DTEND:20300401T000000Z',
  'FREEBUSY;FBTYPE=BUSY:20300304T090000Z/20300304T100000Z,20300305T090000Z/PT30M',
  'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20300304T120000Z/20300304T130000Z',
  'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20300306T000000Z/20300307T000000Z',
  'FREEBUSY;FBTYPE=FREE:20300308T000000Z/20300309T000000Z',
  'END:VFREEBUSY', 'END:VCALENDAR', '',
].join('\r\n');

const ICS = vcalendar([
  ['UID:good', 'DTSTART:20300304T090000Z', 'DTEND:20300304T100000Z', 'SUMMARY:Private'],
  ['UID:broken', 'DTSTART:2030-03-04 lunch', 'DTEND:20300304T130000Z'],
  ['UID:sec', 'DTSTART:20300304T150000Z', 'DURATION:PT1S', 'RRULE:FREQ=SECONDLY;COUNT=1000000000'],
  ['UID:feb30', 'DTSTART:20300201T090000Z', 'DTEND:20300201T100000Z', 'RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30'],
]);

describe('published free/busy URL source', () => {
  let server: http.Server;
  let base: string;
  const paths: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/fb/pub%40example.com.vfb') return res.writeHead(200, { 'content-type': 'text/calendar' }).end(VFB);
      if (req.url === '/fb/cal%40example.com.vfb') return res.writeHead(200, { 'content-type': 'text/calendar' }).end(ICS);
      if (req.url === '/fb/html%40example.com.vfb') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
      return res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const broker = (): FreeBusyBroker => makeBroker({
    systems: { cloud: { name: 'cloud', freebusyUrl: `${base}/fb/{address}.vfb` } },
    usersCsv: { cloud: 'pub@example.com\ncal@example.com\nnobody@example.com\nhtml@example.com\n' },
  });
  const window = { start: new Date('2030-03-01T00:00:00Z'), end: new Date('2030-03-10T00:00:00Z') };

  it('reads a published VFREEBUSY with all FBTYPEs (FREE adds nothing)', async () => {
    const [a] = (await broker().lookup(['pub@example.com'], window)).attendees;
    assert.equal(a!.status, 'ok');
    assert.equal(a!.method, 'freebusy-url');
    assert.deepEqual(show(a!.periods), [
      '2030-03-04T09:00Z/2030-03-04T10:00Z BUSY',
      '2030-03-04T12:00Z/2030-03-04T13:00Z BUSY-TENTATIVE',
      '2030-03-05T09:00Z/2030-03-05T09:30Z BUSY',
      '2030-03-06T00:00Z/2030-03-07T00:00Z BUSY-UNAVAILABLE',
    ]);
    assert.ok(paths.includes('/fb/pub%40example.com.vfb'), 'the address is one encoded path segment');
  });

  it('skips a broken event, caps FREQ=SECONDLY and survives BYMONTHDAY=30 in a published .ics', async () => {
    const t0 = Date.now();
    const [a] = (await broker().lookup(['cal@example.com'], { start: new Date('2030-03-04T00:00:00Z'), end: new Date('2030-03-05T00:00:00Z') })).attendees;
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.equal(a!.status, 'ok');
    assert.equal(a!.skipped, 1, 'the broken event is skipped, the rest is used');
    assert.ok(a!.truncated >= 1, 'the SECONDLY rule is reported as truncated');
    assert.equal(show(a!.periods)[0], '2030-03-04T09:00Z/2030-03-04T10:00Z BUSY');
    assert.match(show(a!.periods)[1] ?? '', /^2030-03-04T15:00Z\/2030-03-04T15:58:20.000Z BUSY$/, '3,500 one-second instances, merged');
  });

  it('says not-found for a 404 and error for a page that is not iCalendar', async () => {
    const ans = await broker().lookup(['nobody@example.com', 'html@example.com'], window);
    assert.deepEqual(ans.attendees.map((a) => [a.status, a.error?.code]), [
      ['not-found', 'CALENDAR_NOT_FOUND'],
      ['error', 'CALENDAR_SOURCE_PROTOCOL'],
    ]);
  });
});
