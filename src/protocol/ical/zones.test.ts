import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ICAL from 'ical.js';
import { DAY, daysFromCivil } from './civil.js';
import { windowsZoneNames } from './windows-zones.js';
import { type JComp, intlZone, resolveZoneName, vtimezoneZone } from './zones.js';
import { wallTimeToUtc, windowsZoneToIana } from './index.js';

const iso = (d: Date | undefined): string | undefined => d?.toISOString().slice(0, 16);
const wall = (y: number, mo: number, d: number, h: number, mi = 0) => ({ year: y, month: mo, day: d, hour: h, minute: mi });

describe('wall time to UTC (RFC 5545 3.3.5)', () => {
  it('Europe/Berlin: 02:30 in the spring gap is 03:30 CEST = 01:30Z', () => {
    assert.equal(iso(wallTimeToUtc(wall(2026, 3, 29, 2, 30), 'Europe/Berlin')), '2026-03-29T01:30');
  });
  it('Europe/Berlin: 02:30 in the repeated autumn hour is the first (CEST) = 00:30Z', () => {
    assert.equal(iso(wallTimeToUtc(wall(2026, 10, 25, 2, 30), 'Europe/Berlin')), '2026-10-25T00:30');
  });
  it('Europe/Berlin: times around the changes', () => {
    assert.equal(iso(wallTimeToUtc(wall(2026, 3, 29, 1, 59), 'Europe/Berlin')), '2026-03-29T00:59');
    assert.equal(iso(wallTimeToUtc(wall(2026, 3, 29, 3, 0), 'Europe/Berlin')), '2026-03-29T01:00');
    assert.equal(iso(wallTimeToUtc(wall(2026, 10, 25, 3, 0), 'Europe/Berlin')), '2026-10-25T02:00');
    assert.equal(iso(wallTimeToUtc(wall(2026, 10, 25, 1, 59), 'Europe/Berlin')), '2026-10-24T23:59');
  });
  it('America/New_York: gap and repeated hour', () => {
    assert.equal(iso(wallTimeToUtc(wall(2026, 3, 8, 2, 30), 'America/New_York')), '2026-03-08T07:30');
    assert.equal(iso(wallTimeToUtc(wall(2026, 11, 1, 1, 30), 'America/New_York')), '2026-11-01T05:30');
  });
  it('Australia/Sydney (southern hemisphere): gap and repeated hour', () => {
    assert.equal(iso(wallTimeToUtc(wall(2026, 10, 4, 2, 30), 'Australia/Sydney')), '2026-10-03T16:30');
    assert.equal(iso(wallTimeToUtc(wall(2026, 4, 5, 2, 30), 'Australia/Sydney')), '2026-04-04T15:30');
  });
  it('Windows names work too; unknown zones give undefined', () => {
    assert.equal(iso(wallTimeToUtc(wall(2026, 7, 1, 9), 'Eastern Standard Time')), '2026-07-01T13:00');
    assert.equal(wallTimeToUtc(wall(2026, 7, 1, 9), 'Nowhere/Special'), undefined);
  });
});

describe('windowsZoneToIana', () => {
  it('maps the common Windows names (CLDR windowsZones, territory 001)', () => {
    const want: Record<string, string> = {
      'W. Europe Standard Time': 'Europe/Berlin',
      'Romance Standard Time': 'Europe/Paris',
      'GMT Standard Time': 'Europe/London',
      'Central Europe Standard Time': 'Europe/Budapest',
      'Eastern Standard Time': 'America/New_York',
      'Pacific Standard Time': 'America/Los_Angeles',
      'Central Standard Time': 'America/Chicago',
      'Mountain Standard Time': 'America/Denver',
      'US Mountain Standard Time': 'America/Phoenix',
      'E. South America Standard Time': 'America/Sao_Paulo',
      'India Standard Time': 'Asia/Kolkata',
      'China Standard Time': 'Asia/Shanghai',
      'Tokyo Standard Time': 'Asia/Tokyo',
      'AUS Eastern Standard Time': 'Australia/Sydney',
      'New Zealand Standard Time': 'Pacific/Auckland',
      'South Africa Standard Time': 'Africa/Johannesburg',
      'Arabian Standard Time': 'Asia/Dubai',
      'Russian Standard Time': 'Europe/Moscow',
      'Newfoundland Standard Time': 'America/St_Johns',
      UTC: 'Etc/UTC',
    };
    for (const [w, iana] of Object.entries(want)) assert.equal(windowsZoneToIana(w), iana, w);
  });
  it('is case- and space-tolerant, and unknown names give undefined', () => {
    assert.equal(windowsZoneToIana(' w. europe  standard time '), 'Europe/Berlin');
    assert.equal(windowsZoneToIana('Atlantis Standard Time'), undefined);
  });
  it('knows at least 60 zones and every target is a zone Intl knows', () => {
    const names = windowsZoneNames();
    assert.ok(names.length >= 60, `${names.length}`);
    for (const n of names) assert.ok(intlZone(windowsZoneToIana(n)!), n);
  });
});

describe('zone resolution', () => {
  it('accepts prefixed legacy TZIDs', () => {
    assert.equal(resolveZoneName('/mozilla.org/20050126_1/Europe/Berlin')?.name, 'Europe/Berlin');
    assert.equal(resolveZoneName('/freeassociation.sourceforge.net/Tzfile/America/Argentina/Buenos_Aires')?.name, 'America/Buenos_Aires');
    assert.equal(resolveZoneName('/x/Tzfile/Asia/Tokyo')?.name, 'Asia/Tokyo');
    assert.equal(resolveZoneName('Nowhere'), undefined);
  });

  const BERLIN = [
    'BEGIN:VTIMEZONE', 'TZID:Europe/Berlin',
    'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'DTSTART:19810329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT',
    'BEGIN:STANDARD', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'DTSTART:19961027T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD',
    'END:VTIMEZONE', '',
  ].join('\r\n');
  const NEW_YORK = [
    'BEGIN:VTIMEZONE', 'TZID:America/New_York',
    'BEGIN:DAYLIGHT', 'TZOFFSETFROM:-0500', 'TZOFFSETTO:-0400', 'DTSTART:20070311T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU', 'END:DAYLIGHT',
    'BEGIN:STANDARD', 'TZOFFSETFROM:-0400', 'TZOFFSETTO:-0500', 'DTSTART:20071104T020000', 'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU', 'END:STANDARD',
    'END:VTIMEZONE', '',
  ].join('\r\n');

  for (const [name, text] of [['Europe/Berlin', BERLIN], ['America/New_York', NEW_YORK]] as const) {
    it(`an embedded VTIMEZONE (${name}) agrees with Intl every 15 minutes of 2026, gaps and repeats included`, () => {
      const embedded = vtimezoneZone(ICAL.parse(text) as unknown as JComp)!;
      const intl = intlZone(name)!;
      const start = daysFromCivil(2026, 1, 1) * DAY;
      for (let l = start; l < start + 365 * DAY; l += 900) {
        if (embedded.toUtc(l) !== intl.toUtc(l)) assert.fail(`local ${new Date(l * 1000).toISOString()}`);
      }
    });
  }

  it('a VTIMEZONE with an impossible or endless rule does not hang', () => {
    const evil = BERLIN.replace('RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30');
    const z = vtimezoneZone(ICAL.parse(evil) as unknown as JComp)!;
    const t = performance.now();
    z.toUtc(daysFromCivil(2026, 7, 1) * DAY);
    assert.ok(performance.now() - t < 500);
  });
});
