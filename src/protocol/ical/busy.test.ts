import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MbError } from '../../core/errors.js';
import { type BusyOptions, type BusyResult, busyFromCalendars } from './index.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/ics/${name}`, import.meta.url), 'utf8');
const cal = (...events: string[]): string =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...events, 'END:VCALENDAR', ''].join('\r\n');
const vevent = (...props: string[]): string => ['BEGIN:VEVENT', ...props, 'END:VEVENT'].join('\r\n');
const win = (start: string, end: string, more: Partial<BusyOptions> = {}): BusyOptions => ({ start: new Date(start), end: new Date(end), ...more });
/** Periods as "startISO/endISO TYPE" for compact assertions. */
const spans = (r: BusyResult): string[] => r.periods.map((p) => `${p.start.toISOString().slice(0, 16)}/${p.end.toISOString().slice(0, 16)} ${p.type}`);
const MARCH = win('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z');

describe('busyFromCalendars: basics', () => {
  it('a timed UTC event is busy over its span', () => {
    const r = busyFromCalendars([cal(vevent('UID:a', 'DTSTART:20260310T080000Z', 'DTEND:20260310T090000Z'))], MARCH);
    assert.deepEqual(spans(r), ['2026-03-10T08:00/2026-03-10T09:00 BUSY']);
    assert.deepEqual([r.skipped, r.truncated, r.warnings], [[], [], []]);
  });
  it('clips to the window and merges and sorts across calendars', () => {
    const r = busyFromCalendars([
      cal(vevent('UID:b', 'DTSTART:20260310T100000Z', 'DTEND:20260310T110000Z'), vevent('UID:a', 'DTSTART:20260228T230000Z', 'DTEND:20260301T010000Z')),
      cal(vevent('UID:c', 'DTSTART:20260310T103000Z', 'DTEND:20260310T120000Z'), vevent('UID:d', 'DTSTART:20260331T233000Z', 'DTEND:20260401T003000Z')),
    ], MARCH);
    assert.deepEqual(spans(r), ['2026-03-01T00:00/2026-03-01T01:00 BUSY', '2026-03-10T10:00/2026-03-10T12:00 BUSY', '2026-03-31T23:30/2026-04-01T00:00 BUSY']);
  });
  it('a bad window or floating zone is a caller error (MbError), not a skip', () => {
    assert.throws(() => busyFromCalendars([], win('2026-03-02T00:00:00Z', '2026-03-01T00:00:00Z')), (e) => MbError.is(e, 'ICAL_WINDOW_INVALID'));
    assert.throws(() => busyFromCalendars([], { ...MARCH, floatingZone: 'Mars/Olympus' }), (e) => MbError.is(e, 'ICAL_ZONE_UNKNOWN'));
  });
});

describe('busyFromCalendars: busy type', () => {
  const one = (...props: string[]): string[] => spans(busyFromCalendars([cal(vevent('UID:x', 'DTSTART:20260310T080000Z', 'DTEND:20260310T090000Z', ...props))], MARCH));
  it('TRANSP:TRANSPARENT is free', () => assert.deepEqual(one('TRANSP:TRANSPARENT'), []));
  it('STATUS:CANCELLED is free', () => assert.deepEqual(one('STATUS:CANCELLED'), []));
  it('STATUS:TENTATIVE is BUSY-TENTATIVE', () => assert.deepEqual(one('STATUS:TENTATIVE'), ['2026-03-10T08:00/2026-03-10T09:00 BUSY-TENTATIVE']));
  it('STATUS:CONFIRMED and TRANSP:OPAQUE are BUSY', () => assert.deepEqual(one('STATUS:CONFIRMED', 'TRANSP:OPAQUE'), ['2026-03-10T08:00/2026-03-10T09:00 BUSY']));
  it('X-MICROSOFT-CDO-BUSYSTATUS maps FREE, TENTATIVE, BUSY, OOF', () => {
    assert.deepEqual(one('X-MICROSOFT-CDO-BUSYSTATUS:FREE'), []);
    assert.deepEqual(one('X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE'), ['2026-03-10T08:00/2026-03-10T09:00 BUSY-TENTATIVE']);
    assert.deepEqual(one('X-MICROSOFT-CDO-BUSYSTATUS:BUSY', 'STATUS:TENTATIVE'), ['2026-03-10T08:00/2026-03-10T09:00 BUSY']);
    assert.deepEqual(one('X-MICROSOFT-CDO-BUSYSTATUS:OOF'), ['2026-03-10T08:00/2026-03-10T09:00 BUSY-UNAVAILABLE']);
  });
  it('TRANSP:TRANSPARENT and CANCELLED win over a stale Outlook status', () => {
    assert.deepEqual(one('TRANSP:TRANSPARENT', 'X-MICROSOFT-CDO-BUSYSTATUS:BUSY'), []);
    assert.deepEqual(one('STATUS:CANCELLED', 'X-MICROSOFT-CDO-BUSYSTATUS:OOF'), []);
  });
});

describe('busyFromCalendars: times and zones', () => {
  const at = (opts: BusyOptions, ...props: string[]): string[] => spans(busyFromCalendars([cal(vevent('UID:t', ...props))], opts));
  it('an all-day event is busy the whole day in UTC by default, or in floatingZone', () => {
    assert.deepEqual(at(MARCH, 'DTSTART;VALUE=DATE:20260310', 'DTEND;VALUE=DATE:20260312'), ['2026-03-10T00:00/2026-03-12T00:00 BUSY']);
    assert.deepEqual(at({ ...MARCH, floatingZone: 'Europe/Berlin' }, 'DTSTART;VALUE=DATE:20260310'), ['2026-03-09T23:00/2026-03-10T23:00 BUSY']);
  });
  it('an all-day event without DTEND lasts one day; a timed one without DTEND or DURATION takes no time', () => {
    assert.deepEqual(at(MARCH, 'DTSTART;VALUE=DATE:20260310'), ['2026-03-10T00:00/2026-03-11T00:00 BUSY']);
    assert.deepEqual(at(MARCH, 'DTSTART:20260310T080000Z'), []);
  });
  it('DTSTART:20260310 without VALUE=DATE is read as a date', () => {
    assert.deepEqual(at(MARCH, 'DTSTART:20260310'), ['2026-03-10T00:00/2026-03-11T00:00 BUSY']);
  });
  it('DURATION: P1D is one calendar day on the wall clock, even across a DST change', () => {
    assert.deepEqual(at(MARCH, 'DTSTART:20260310T080000Z', 'DURATION:PT1H30M'), ['2026-03-10T08:00/2026-03-10T09:30 BUSY']);
    assert.deepEqual(at(MARCH, 'DTSTART;TZID=Europe/Berlin:20260328T120000', 'DURATION:P1D'), ['2026-03-28T11:00/2026-03-29T10:00 BUSY']);
  });
  it('floating times are read in floatingZone (UTC by default)', () => {
    assert.deepEqual(at(MARCH, 'DTSTART:20260310T090000', 'DTEND:20260310T100000'), ['2026-03-10T09:00/2026-03-10T10:00 BUSY']);
    assert.deepEqual(at({ ...MARCH, floatingZone: 'America/New_York' }, 'DTSTART:20260310T090000', 'DTEND:20260310T100000'), ['2026-03-10T13:00/2026-03-10T14:00 BUSY']);
  });
  it('an IANA TZID without VTIMEZONE is computed with Intl', () => {
    assert.deepEqual(at(MARCH, 'DTSTART;TZID=Asia/Kolkata:20260310T090000', 'DTEND;TZID=Asia/Kolkata:20260310T100000'), ['2026-03-10T03:30/2026-03-10T04:30 BUSY']);
  });
  it('Windows TZIDs without VTIMEZONE map to IANA zones', () => {
    assert.deepEqual(at(MARCH, 'DTSTART;TZID=W. Europe Standard Time:20260310T090000', 'DURATION:PT1H'), ['2026-03-10T08:00/2026-03-10T09:00 BUSY']);
    assert.deepEqual(at(MARCH, 'DTSTART;TZID="Eastern Standard Time":20260310T090000', 'DURATION:PT1H'), ['2026-03-10T13:00/2026-03-10T14:00 BUSY']);
  });
  it('an embedded VTIMEZONE is authoritative, whatever its name', () => {
    const tz = ['BEGIN:VTIMEZONE', 'TZID:Office Time', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+0530', 'TZOFFSETTO:+0530', 'END:STANDARD', 'END:VTIMEZONE'].join('\r\n');
    const r = busyFromCalendars([cal(tz, vevent('UID:v', 'DTSTART;TZID=Office Time:20260310T090000', 'DURATION:PT1H'))], MARCH);
    assert.deepEqual(spans(r), ['2026-03-10T03:30/2026-03-10T04:30 BUSY']);
  });
  it('an unknown TZID is read as floating time, with a warning', () => {
    const r = busyFromCalendars([cal(vevent('UID:u', 'DTSTART;TZID=Atlantis Standard Time:20260310T090000', 'DURATION:PT1H'))], MARCH);
    assert.deepEqual(spans(r), ['2026-03-10T09:00/2026-03-10T10:00 BUSY']);
    assert.deepEqual(r.warnings, [{ uid: 'u', reason: 'unknown TZID; read as floating time' }]);
  });
  it('a weekly 09:00 Europe/Berlin event stays at 09:00 local across DST (08:00Z, then 07:00Z)', () => {
    const r = busyFromCalendars([cal(vevent('UID:w', 'DTSTART;TZID=Europe/Berlin:20260316T090000', 'DTEND;TZID=Europe/Berlin:20260316T100000', 'RRULE:FREQ=WEEKLY;BYDAY=MO'))],
      win('2026-03-20T00:00:00Z', '2026-04-07T00:00:00Z'));
    assert.deepEqual(spans(r), ['2026-03-23T08:00/2026-03-23T09:00 BUSY', '2026-03-30T07:00/2026-03-30T08:00 BUSY', '2026-04-06T07:00/2026-04-06T08:00 BUSY']);
  });
  it('a start in the spring-forward gap uses the offset before it; a repeated hour means the first', () => {
    assert.deepEqual(at(MARCH, 'DTSTART;TZID=Europe/Berlin:20260329T023000', 'DURATION:PT30M'), ['2026-03-29T01:30/2026-03-29T02:00 BUSY']);
    assert.deepEqual(at(win('2026-10-01T00:00:00Z', '2026-11-01T00:00:00Z'), 'DTSTART;TZID=W. Europe Standard Time:20261025T023000', 'DURATION:PT30M'),
      ['2026-10-25T00:30/2026-10-25T01:00 BUSY']);
  });
});

describe('busyFromCalendars: recurrence', () => {
  const rec = (opts: BusyOptions, ...props: string[]): string[] => spans(busyFromCalendars([cal(vevent('UID:r', ...props))], opts));
  it('DAILY with COUNT', () => {
    assert.deepEqual(rec(MARCH, 'DTSTART:20260330T080000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=3'),
      ['2026-03-30T08:00/2026-03-30T09:00 BUSY', '2026-03-31T08:00/2026-03-31T09:00 BUSY']);
    assert.equal(rec(win('2026-03-01T00:00:00Z', '2026-05-01T00:00:00Z'), 'DTSTART:20260330T080000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=3').length, 3);
  });
  it('a lower-case rrule (parsed by ical.js) expands like the usual upper-case one', () => {
    assert.deepEqual(rec(MARCH, 'DTSTART:20260330T080000Z', 'DURATION:PT1H', 'rrule:FREQ=DAILY;COUNT=2'),
      ['2026-03-30T08:00/2026-03-30T09:00 BUSY', '2026-03-31T08:00/2026-03-31T09:00 BUSY']);
  });
  it('WEEKLY with INTERVAL and UNTIL', () => {
    assert.deepEqual(rec(MARCH, 'DTSTART:20260302T080000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=20260316T080000Z'),
      ['2026-03-02T08:00/2026-03-02T09:00 BUSY', '2026-03-16T08:00/2026-03-16T09:00 BUSY']);
  });
  it('MONTHLY on the last Friday, YEARLY on a date', () => {
    assert.deepEqual(rec(win('2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z'), 'DTSTART:20250131T150000Z', 'DURATION:PT1H', 'RRULE:FREQ=MONTHLY;BYDAY=-1FR'),
      ['2026-01-30T15:00/2026-01-30T16:00 BUSY', '2026-02-27T15:00/2026-02-27T16:00 BUSY', '2026-03-27T15:00/2026-03-27T16:00 BUSY']);
    assert.deepEqual(rec(MARCH, 'DTSTART;VALUE=DATE:19800315', 'RRULE:FREQ=YEARLY'), ['2026-03-15T00:00/2026-03-16T00:00 BUSY']);
  });
  it('an all-day series with UNTIL as a DATE includes that day', () => {
    assert.deepEqual(rec(MARCH, 'DTSTART;VALUE=DATE:20260309', 'RRULE:FREQ=DAILY;UNTIL=20260311'), ['2026-03-09T00:00/2026-03-12T00:00 BUSY']);
  });
  it('RDATE adds instances (date-time and PERIOD); EXDATE removes them (DATE EXDATE on a timed series too)', () => {
    assert.deepEqual(rec(MARCH, 'DTSTART:20260302T080000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=4',
      'RDATE:20260320T120000Z', 'RDATE;VALUE=PERIOD:20260321T120000Z/PT2H', 'EXDATE:20260303T080000Z', 'EXDATE;VALUE=DATE:20260304'),
    ['2026-03-02T08:00/2026-03-02T09:00 BUSY', '2026-03-05T08:00/2026-03-05T09:00 BUSY', '2026-03-20T12:00/2026-03-20T13:00 BUSY', '2026-03-21T12:00/2026-03-21T14:00 BUSY']);
  });
  it('EXDATE in another zone matches the instance by instant', () => {
    assert.deepEqual(rec(MARCH, 'DTSTART;TZID=Europe/Berlin:20260302T090000', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=2', 'EXDATE:20260303T080000Z'),
      ['2026-03-02T08:00/2026-03-02T09:00 BUSY']);
  });
  it('overrides move, cancel, free up and downgrade single instances (fixture from Thunderbird/Radicale)', () => {
    const r = busyFromCalendars([fixture('series-with-overrides.ics')], win('2026-03-09T00:00:00Z', '2026-03-21T00:00:00Z'));
    assert.deepEqual(spans(r), [
      '2026-03-09T09:00/2026-03-09T09:30 BUSY',
      '2026-03-10T13:00/2026-03-10T13:30 BUSY', // moved from 10:00 to 14:00 local
      // 11th cancelled, 12th EXDATE, 13th transparent
      '2026-03-16T10:00/2026-03-16T10:30 BUSY-TENTATIVE', // moved to 11:00 local, no DTEND: keeps the series' 30 min
      '2026-03-17T09:00/2026-03-17T09:30 BUSY',
      '2026-03-18T09:00/2026-03-18T09:30 BUSY',
      '2026-03-19T09:00/2026-03-19T09:30 BUSY',
      '2026-03-20T09:00/2026-03-20T09:30 BUSY',
    ]);
  });
  it('an override moved into the window counts even though its original instance is outside', () => {
    const r = busyFromCalendars([cal(
      vevent('UID:m', 'DTSTART:20260302T080000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;COUNT=4'),
      vevent('UID:m', 'RECURRENCE-ID:20260302T080000Z', 'DTSTART:20260310T150000Z', 'DURATION:PT1H'),
    )], win('2026-03-10T00:00:00Z', '2026-03-11T00:00:00Z'));
    assert.deepEqual(spans(r), ['2026-03-10T15:00/2026-03-10T16:00 BUSY']);
  });
  it('the series end (UNTIL) is honoured (fixture: last instance on 2026-03-27)', () => {
    const r = busyFromCalendars([fixture('series-with-overrides.ics')], win('2026-03-25T00:00:00Z', '2026-04-10T00:00:00Z'));
    assert.deepEqual(spans(r), ['2026-03-25T09:00/2026-03-25T09:30 BUSY', '2026-03-26T09:00/2026-03-26T09:30 BUSY', '2026-03-27T09:00/2026-03-27T09:30 BUSY']);
  });
});

describe('busyFromCalendars: safety caps', () => {
  const timed = (rule: string, start = '20260101T000000Z', opts: BusyOptions = MARCH): { r: BusyResult; ms: number } => {
    const t = performance.now();
    const r = busyFromCalendars([cal(vevent('UID:cap', `DTSTART:${start}`, 'DURATION:PT1S', rule))], opts);
    return { r, ms: performance.now() - t };
  };
  it('maxInstances caps the instances of one event and says so in truncated', () => {
    const { r } = timed('RRULE:FREQ=HOURLY', '20260101T000000Z', { ...MARCH, maxInstances: 10 });
    assert.equal(r.periods.length, 10);
    assert.deepEqual(r.truncated, [{ uid: 'cap', reason: 'more than 10 instances in the window' }]);
  });
  it('FREQ=SECONDLY returns in < 500 ms, truncated', () => {
    const { r, ms } = timed('RRULE:FREQ=SECONDLY');
    assert.ok(ms < 500, `${ms} ms`);
    assert.equal(r.truncated.length, 1);
  });
  it('COUNT=1000000000 returns in < 500 ms', () => {
    const { r, ms } = timed('RRULE:FREQ=DAILY;COUNT=1000000000', '19500101T000000Z');
    assert.ok(ms < 500, `${ms} ms`);
    assert.equal(r.periods.length, 31);
    const s = timed('RRULE:FREQ=SECONDLY;COUNT=1000000000', '19700101T000000Z');
    assert.ok(s.ms < 500, `${s.ms} ms`);
    assert.deepEqual(s.r.truncated, [{ uid: 'cap', reason: 'recurrence iteration limit reached' }]);
  });
  it('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 (impossible) returns in < 500 ms with nothing', () => {
    for (const rule of ['RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', 'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=2', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4;COUNT=2']) {
      const { r, ms } = timed(rule, '19000101T000000Z');
      assert.ok(ms < 500, `${rule}: ${ms} ms`);
      assert.equal(r.periods.length, 0);
    }
  });
  it('an old daily series (from 2010) is expanded only over the window', () => {
    const { r, ms } = timed('RRULE:FREQ=DAILY', '20100101T090000Z', { ...MARCH, maxInstances: 40 });
    assert.equal(r.periods.length, 31);
    assert.deepEqual(r.truncated, []);
    assert.ok(ms < 100, `${ms} ms`);
  });
  it('the deadline stops expansion and reports what was not done', () => {
    let t = 0;
    const opts = { ...MARCH, deadline: 5, now: () => t++ };
    const many = cal(...Array.from({ length: 20 }, (_, i) => vevent(`UID:d${i}`, `DTSTART:202603${String(i + 1).padStart(2, '0')}T080000Z`, 'DURATION:PT1H')));
    const r = busyFromCalendars([many, many], opts);
    assert.ok(r.periods.length > 0 && r.periods.length < 20);
    assert.ok(r.truncated.some((n) => /deadline exceeded; \d+ events not expanded/.test(n.reason)));
    assert.ok(r.truncated.some((n) => n.reason === 'deadline exceeded; 1 calendars not read'));
  });
});

describe('busyFromCalendars: broken input', () => {
  it('skips each broken event with a reason and keeps the good ones; never throws', () => {
    const r = busyFromCalendars([fixture('broken.ics')], MARCH);
    assert.deepEqual(spans(r), ['2026-03-10T08:00/2026-03-10T09:00 BUSY', '2026-03-11T08:00/2026-03-11T08:30 BUSY']);
    assert.deepEqual(r.skipped, [
      { uid: 'no-colon', reason: 'unparseable VEVENT' },
      { uid: 'bad-freq', reason: 'invalid RRULE FREQ' },
      { uid: 'no-dtstart', reason: 'missing DTSTART' },
      { uid: 'bad-date', reason: 'invalid DTSTART' },
      { uid: 'end-before-start', reason: 'DTEND before DTSTART' },
      { uid: 'bad-duration', reason: 'invalid DURATION' },
    ]);
  });
  it('unparseable or empty texts are skipped per calendar', () => {
    const r = busyFromCalendars(['this is not a calendar', '', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260310T080000Z\r\n'], MARCH);
    assert.deepEqual(r.periods, []);
    assert.deepEqual(r.skipped.map((s) => s.reason), ['unparseable calendar', 'not iCalendar data', 'unparseable VEVENT']);
  });
  it('an invalid RRULE part skips the event with a precise reason', () => {
    const r = busyFromCalendars([
      cal(vevent('UID:b1', 'DTSTART:20260310T080000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;BYMONTHDAY=0')),
      cal(vevent('UID:b2', 'DTSTART:20260310T080000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;BYHOUR=25')),
      cal(vevent('UID:b3', 'DTSTART;VALUE=DATE:20260310', 'RRULE:FREQ=HOURLY')),
      cal(vevent('UID:b4', 'DTSTART:20260310T080000Z', 'RRULE:FREQ=DAILY;COUNT=ten')),
      // a lower-case property name takes ical.js's own recur parser, which refuses the block
      cal(vevent('UID:b5', 'DTSTART:20260310T080000Z', 'rrule:FREQ=DAILY;COUNT=ten')),
    ], MARCH);
    assert.deepEqual(r.skipped, [
      { uid: 'b1', reason: 'invalid RRULE BYMONTHDAY' },
      { uid: 'b2', reason: 'invalid RRULE BYHOUR' },
      { uid: 'b3', reason: 'sub-daily RRULE on an all-day event' },
      { uid: 'b4', reason: 'invalid RRULE COUNT' },
      { uid: 'b5', reason: 'unparseable VEVENT' },
    ]);
  });
  it('never puts titles, locations or descriptions in the output', () => {
    const r = busyFromCalendars([fixture('outlook-export.ics'), fixture('broken.ics'), fixture('series-with-overrides.ics')], MARCH);
    assert.doesNotMatch(JSON.stringify(r), /SECRET/);
  });
});

describe('busyFromCalendars: Outlook export fixture', () => {
  it('reads the W. Europe VTIMEZONE, CDO statuses and the all-day OOF', () => {
    const r = busyFromCalendars([fixture('outlook-export.ics')], win('2026-03-23T00:00:00Z', '2026-04-03T00:00:00Z'));
    assert.deepEqual(spans(r), [
      '2026-03-23T08:00/2026-03-23T09:00 BUSY',
      '2026-03-25T13:00/2026-03-25T14:00 BUSY-TENTATIVE',
      '2026-03-30T07:00/2026-03-30T08:00 BUSY',
      '2026-04-01T00:00/2026-04-02T00:00 BUSY-UNAVAILABLE',
    ]);
  });
});
