import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import ICAL from 'ical.js';
import { MbError } from '../../core/errors.js';
import { type BusyPeriod, busyFromFreeBusy, foldLine, formatVFreeBusy } from './index.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/ics/${name}`, import.meta.url), 'utf8');
const show = (ps: BusyPeriod[]): string[] => ps.map((p) => `${p.start.toISOString().slice(0, 16)}/${p.end.toISOString().slice(0, 16)} ${p.type}`);
const MARCH = { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') };

describe('busyFromFreeBusy', () => {
  it('reads start/end and start/duration periods with their FBTYPE, merges, ignores FREE, reads unknown types as BUSY', () => {
    const r = busyFromFreeBusy(fixture('published.vfb'), MARCH);
    assert.deepEqual(show(r.periods), [
      '2026-03-10T08:00/2026-03-10T09:30 BUSY',
      '2026-03-10T09:30/2026-03-10T10:00 BUSY-TENTATIVE',
      '2026-03-12T00:00/2026-03-13T00:00 BUSY-UNAVAILABLE',
      '2026-03-14T11:00/2026-03-14T12:00 BUSY',
      '2026-03-15T08:00/2026-03-15T09:00 BUSY',
    ]);
    assert.deepEqual(r.skipped, [{ uid: 'fb-anna', reason: '1 invalid FREEBUSY periods' }]);
  });
  it('clips to the window', () => {
    const r = busyFromFreeBusy(fixture('published.vfb'), { start: new Date('2026-03-10T08:30:00Z'), end: new Date('2026-03-10T09:45:00Z') });
    assert.deepEqual(show(r.periods), ['2026-03-10T08:30/2026-03-10T09:30 BUSY', '2026-03-10T09:30/2026-03-10T09:45 BUSY-TENTATIVE']);
  });
  it('text without VFREEBUSY, or not iCalendar at all, is skipped and does not throw', () => {
    assert.deepEqual(busyFromFreeBusy('BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', MARCH).skipped, [{ reason: 'no VFREEBUSY component' }]);
    assert.deepEqual(busyFromFreeBusy('<html>404</html>', MARCH).skipped, [{ reason: 'unparseable calendar' }]);
  });
});

describe('formatVFreeBusy', () => {
  const base = {
    organizer: 'boss@example.com',
    attendee: 'anna@example.com',
    start: new Date('2026-03-01T00:00:00Z'),
    end: new Date('2026-03-08T00:00:00Z'),
    dtstamp: new Date('2026-02-28T12:34:56Z'),
    periods: [
      { start: new Date('2026-03-02T08:00:00Z'), end: new Date('2026-03-02T09:00:00Z'), type: 'BUSY' as const },
      { start: new Date('2026-03-02T08:30:00Z'), end: new Date('2026-03-02T10:00:00Z'), type: 'BUSY-TENTATIVE' as const },
      { start: new Date('2026-02-27T00:00:00Z'), end: new Date('2026-03-01T06:00:00Z'), type: 'BUSY-UNAVAILABLE' as const },
    ],
  };
  it('writes a VCALENDAR with one VFREEBUSY: CRLF, UTC times, mailto:, one FREEBUSY per type, clipped', () => {
    const out = formatVFreeBusy(base);
    assert.ok(out.endsWith('\r\n'));
    assert.doesNotMatch(out.replace(/\r\n/g, ''), /[\r\n]/);
    assert.deepEqual(out.split('\r\n'), [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//mailbridge//free-busy//EN',
      'METHOD:PUBLISH',
      'BEGIN:VFREEBUSY',
      out.split('\r\n')[5], // UID, checked below
      'DTSTAMP:20260228T123456Z',
      'DTSTART:20260301T000000Z',
      'DTEND:20260308T000000Z',
      'ORGANIZER:mailto:boss@example.com',
      'ATTENDEE:mailto:anna@example.com',
      'FREEBUSY;FBTYPE=BUSY:20260302T080000Z/20260302T090000Z',
      'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260302T090000Z/20260302T100000Z',
      'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20260301T000000Z/20260301T060000Z',
      'END:VFREEBUSY',
      'END:VCALENDAR',
      '',
    ]);
    assert.match(out.split('\r\n')[5]!, /^UID:\S+@mailbridge$/);
    assert.equal(formatVFreeBusy(base), out, 'stable for equal input');
  });
  it('folds long lines at 75 octets and the result parses back (ical.js and busyFromFreeBusy)', () => {
    const periods = Array.from({ length: 40 }, (_, i) => ({
      start: new Date(Date.UTC(2026, 2, 1 + (i % 7), 8 + Math.floor(i / 7), 0)),
      end: new Date(Date.UTC(2026, 2, 1 + (i % 7), 8 + Math.floor(i / 7), 30)),
      type: 'BUSY' as const,
    }));
    const out = formatVFreeBusy({ ...base, periods, extra: { 'X-MAILBRIDGE-STATUS': 'partial; one source, unreachable' } });
    for (const line of out.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, line);
    const back = busyFromFreeBusy(out, { start: base.start, end: base.end });
    assert.equal(back.periods.length, 40);
    const comp = new ICAL.Component(ICAL.parse(out)).getFirstSubcomponent('vfreebusy')!;
    // X- values are TEXT (RFC 5545 3.8.8.2), so escaped; ical.js hands x-props back raw.
    assert.equal(comp.getFirstPropertyValue('x-mailbridge-status'), 'partial\\; one source\\, unreachable');
  });
  it('METHOD: PUBLISH by default, REPLY needs an ORGANIZER, null leaves it out', () => {
    assert.match(formatVFreeBusy({ ...base, method: 'REPLY' }), /\r\nMETHOD:REPLY\r\n/);
    assert.doesNotMatch(formatVFreeBusy({ ...base, method: null }), /METHOD/);
    assert.throws(() => formatVFreeBusy({ ...base, organizer: undefined, method: 'REPLY' }), (e) => MbError.is(e, 'ICAL_FORMAT_INVALID'));
    assert.doesNotMatch(formatVFreeBusy({ ...base, organizer: undefined }), /ORGANIZER/);
  });
  it('keeps an address that already has a scheme; refuses CR/LF and non-X extra names', () => {
    assert.match(formatVFreeBusy({ ...base, attendee: 'MAILTO:anna@example.com' }), /\r\nATTENDEE:MAILTO:anna@example.com\r\n/);
    assert.throws(() => formatVFreeBusy({ ...base, attendee: 'a@example.com\r\nX-EVIL:1' }), (e) => MbError.is(e, 'ICAL_FORMAT_INVALID'));
    assert.throws(() => formatVFreeBusy({ ...base, extra: { SUMMARY: 'x' } }), (e) => MbError.is(e, 'ICAL_FORMAT_INVALID'));
    assert.throws(() => formatVFreeBusy({ ...base, extra: { 'X-A': 'x\ny' } }), (e) => MbError.is(e, 'ICAL_FORMAT_INVALID'));
  });
  it('an empty period list gives a VFREEBUSY without FREEBUSY lines (all free)', () => {
    assert.doesNotMatch(formatVFreeBusy({ ...base, periods: [] }), /FREEBUSY;/);
  });
});

describe('foldLine', () => {
  it('never splits a UTF-8 sequence and keeps every line within 75 octets', () => {
    const line = 'X-NOTE:' + 'äöü€😀'.repeat(30);
    const folded = foldLine(line);
    const parts = folded.split('\r\n');
    for (const p of parts) assert.ok(Buffer.byteLength(p) <= 75);
    assert.equal(parts.map((p, i) => (i ? p.slice(1) : p)).join(''), line);
    assert.equal(foldLine('SHORT:1'), 'SHORT:1');
  });
});
