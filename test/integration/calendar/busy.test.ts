/**
 * Busy time from a real Radicale through the CalDAV source and the broker:
 * each kind of event the issue names, per test its own calendar user.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RadicaleInfo } from '../../harness/index.js';
import { davFetch, adminCredentials } from '../../harness/index.js';
import type { FreeBusyBroker } from '../../../src/calendar/index.js';
import { caldavSystem, calendarPerson, makeBroker, put, show, useCalendarLab, vcalendar } from './setup.js';

/** Europe/Berlin as Thunderbird writes it (RFC 5545 3.6.5). */
const BERLIN = [
  'BEGIN:VTIMEZONE', 'TZID:Europe/Berlin',
  'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'TZNAME:CEST', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT',
  'BEGIN:STANDARD', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'TZNAME:CET', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD',
  'END:VTIMEZONE',
];

/** The zone as Outlook writes it: a Windows name as TZID. */
const WINDOWS_BERLIN = BERLIN.map((l) => (l === 'TZID:Europe/Berlin' ? 'TZID:W. Europe Standard Time' : l));

describe('free/busy from Radicale (calendar-query)', () => {
  const lab = useCalendarLab();
  let info: RadicaleInfo;
  let broker: FreeBusyBroker;
  const users: Record<string, string> = {};

  before(async () => {
    info = lab();
    broker = makeBroker({ systems: { legacy: caldavSystem('legacy', info) } });
  });

  async function person(tag: string, events: Record<string, string>): Promise<string> {
    const p = await calendarPerson(info, tag);
    for (const [uid, ics] of Object.entries(events)) await put(info, p.calendarUrl, uid, ics);
    users[tag] = p.address;
    return p.address;
  }

  async function busy(address: string, start: string, end: string) {
    const ans = await broker.lookup([address], { start: new Date(start), end: new Date(end) });
    const a = ans.attendees[0]!;
    assert.equal(a.status, 'ok', JSON.stringify(a.error));
    assert.equal(a.method, 'calendar-query', 'Radicale does not list free-busy-query, so calendar-query is used');
    return a;
  }

  it('a single event is BUSY for exactly its time', async () => {
    const a = await person('single', {
      s1: vcalendar([['UID:s1', 'DTSTART:20300304T090000Z', 'DTEND:20300304T100000Z', 'SUMMARY:Secret board meeting']]),
    });
    assert.deepEqual(show((await busy(a, '2030-03-01', '2030-03-08')).periods), ['2030-03-04T09:00Z/2030-03-04T10:00Z BUSY']);
    assert.deepEqual((await busy(a, '2030-03-05', '2030-03-08')).periods, []);
  });

  it('a recurring event honours EXDATE, RDATE, a moved override and a cancelled instance', async () => {
    const a = await person('recur', {
      r1: vcalendar([
        ['UID:r1', 'DTSTART;TZID=Europe/Berlin:20300304T100000', 'DTEND;TZID=Europe/Berlin:20300304T110000', 'SUMMARY:Standup',
          'RRULE:FREQ=DAILY;COUNT=5', 'EXDATE;TZID=Europe/Berlin:20300305T100000', 'RDATE;TZID=Europe/Berlin:20300310T150000'],
        ['UID:r1', 'RECURRENCE-ID;TZID=Europe/Berlin:20300306T100000', 'DTSTART;TZID=Europe/Berlin:20300306T140000', 'DTEND;TZID=Europe/Berlin:20300306T150000', 'SUMMARY:Standup (moved)'],
        ['UID:r1', 'RECURRENCE-ID;TZID=Europe/Berlin:20300307T100000', 'DTSTART;TZID=Europe/Berlin:20300307T100000', 'DTEND;TZID=Europe/Berlin:20300307T110000', 'STATUS:CANCELLED'],
      ], BERLIN),
    });
    assert.deepEqual(show((await busy(a, '2030-03-01', '2030-03-15')).periods), [
      '2030-03-04T09:00Z/2030-03-04T10:00Z BUSY',
      '2030-03-06T13:00Z/2030-03-06T14:00Z BUSY',
      '2030-03-08T09:00Z/2030-03-08T10:00Z BUSY',
      '2030-03-10T14:00Z/2030-03-10T15:00Z BUSY',
    ]);
  });

  it('all-day events cover whole days (UTC without a calendar zone, local days with one)', async () => {
    const a = await person('allday', {
      d1: vcalendar([['UID:d1', 'DTSTART;VALUE=DATE:20300312', 'DTEND;VALUE=DATE:20300314', 'SUMMARY:Trade fair']]),
    });
    assert.deepEqual(show((await busy(a, '2030-03-10', '2030-03-20')).periods), ['2030-03-12T00:00Z/2030-03-14T00:00Z BUSY']);

    const b = await calendarPerson(info, 'allday-tz');
    await put(info, b.calendarUrl, 'd2', vcalendar([['UID:d2', 'DTSTART;VALUE=DATE:20300312', 'DTEND;VALUE=DATE:20300313']]));
    // RFC 4791 5.2.2: the calendar's zone says where floating times and dates are.
    const patch = await davFetch(b.calendarUrl, 'PROPPATCH', adminCredentials(info), `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<C:calendar-timezone>${['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', ...BERLIN, 'END:VCALENDAR'].join('\r\n')}</C:calendar-timezone>
</D:prop></D:set></D:propertyupdate>`, { 'content-type': 'application/xml; charset=utf-8' });
    assert.equal(patch.status, 207, await patch.text());
    assert.deepEqual(show((await busy(b.address, '2030-03-10', '2030-03-20')).periods), ['2030-03-11T23:00Z/2030-03-12T23:00Z BUSY']);
  });

  it('tentative is BUSY-TENTATIVE; cancelled and transparent events are free', async () => {
    const a = await person('status', {
      t1: vcalendar([['UID:t1', 'DTSTART:20300304T090000Z', 'DTEND:20300304T100000Z', 'STATUS:TENTATIVE']]),
      c1: vcalendar([['UID:c1', 'DTSTART:20300304T120000Z', 'DTEND:20300304T130000Z', 'STATUS:CANCELLED']]),
      x1: vcalendar([['UID:x1', 'DTSTART:20300304T140000Z', 'DTEND:20300304T150000Z', 'TRANSP:TRANSPARENT']]),
      o1: vcalendar([['UID:o1', 'DTSTART:20300304T093000Z', 'DTEND:20300304T110000Z']]),
    });
    assert.deepEqual(show((await busy(a, '2030-03-04', '2030-03-05')).periods), [
      '2030-03-04T09:00Z/2030-03-04T09:30Z BUSY-TENTATIVE',
      '2030-03-04T09:30Z/2030-03-04T11:00Z BUSY',
    ]);
  });

  it('reads a Windows time-zone name (Outlook) as its IANA zone', async () => {
    const a = await person('windows', {
      w1: vcalendar([['UID:w1', 'DTSTART;TZID=W. Europe Standard Time:20300304T090000', 'DTEND;TZID=W. Europe Standard Time:20300304T100000']], WINDOWS_BERLIN),
      w2: vcalendar([['UID:w2', 'DTSTART;TZID=W. Europe Standard Time:20300704T090000', 'DTEND;TZID=W. Europe Standard Time:20300704T100000']], WINDOWS_BERLIN),
    });
    assert.deepEqual(show((await busy(a, '2030-03-01', '2030-03-10')).periods), ['2030-03-04T08:00Z/2030-03-04T09:00Z BUSY']);
    assert.deepEqual(show((await busy(a, '2030-07-01', '2030-07-10')).periods), ['2030-07-04T07:00Z/2030-07-04T08:00Z BUSY']);
  });

  it('keeps local time across the DST changes in Europe/Berlin (RFC 5545 3.3.5 gap and repeated hour)', async () => {
    const a = await person('dst', {
      daily: vcalendar([['UID:daily', 'DTSTART;TZID=Europe/Berlin:20300329T090000', 'DTEND;TZID=Europe/Berlin:20300329T093000', 'RRULE:FREQ=DAILY;COUNT=4']], BERLIN),
      // 02:30 does not exist on 2030-03-31: read with the offset before the gap (+01:00).
      gap: vcalendar([['UID:gap', 'DTSTART;TZID=Europe/Berlin:20300331T023000', 'DTEND;TZID=Europe/Berlin:20300331T040000']], BERLIN),
      // 02:30 happens twice on 2030-10-27: the first one (+02:00) is meant.
      twice: vcalendar([['UID:twice', 'DTSTART;TZID=Europe/Berlin:20301027T023000', 'DURATION:PT1H']], BERLIN),
    });
    assert.deepEqual(show((await busy(a, '2030-03-28', '2030-04-03')).periods), [
      '2030-03-29T08:00Z/2030-03-29T08:30Z BUSY',
      '2030-03-30T08:00Z/2030-03-30T08:30Z BUSY',
      '2030-03-31T01:30Z/2030-03-31T02:00Z BUSY',
      '2030-03-31T07:00Z/2030-03-31T07:30Z BUSY',
      '2030-04-01T07:00Z/2030-04-01T07:30Z BUSY',
    ]);
    assert.deepEqual(show((await busy(a, '2030-10-26', '2030-10-28')).periods), ['2030-10-27T00:30Z/2030-10-27T01:30Z BUSY']);
  });
});
