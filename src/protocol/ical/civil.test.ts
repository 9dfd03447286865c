import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAY, civilFromDays, daysFromCivil, formatUtc, parseDuration, parseTimeValue, parseUtcOffset, weekday } from './civil.js';

describe('civil arithmetic', () => {
  it('day numbers round-trip and match Date for 1600..2400', () => {
    const c = new Int32Array(3);
    for (let z = daysFromCivil(1600, 1, 1); z < daysFromCivil(2400, 1, 1); z += 97) {
      civilFromDays(z, c);
      assert.equal(daysFromCivil(c[0]!, c[1]!, c[2]!), z);
      const d = new Date(z * DAY * 1000);
      assert.deepEqual([c[0], c[1], c[2]], [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]);
      assert.equal(weekday(z), (d.getUTCDay() + 6) % 7);
    }
  });
  it('parses DATE and DATE-TIME values and refuses impossible ones', () => {
    assert.deepEqual(parseTimeValue('2026-03-29T02:30:00'), { local: Date.UTC(2026, 2, 29, 2, 30) / 1000, date: false, utc: false });
    assert.deepEqual(parseTimeValue('2026-03-29T02:30:00Z'), { local: Date.UTC(2026, 2, 29, 2, 30) / 1000, date: false, utc: true });
    assert.deepEqual(parseTimeValue('2024-02-29'), { local: Date.UTC(2024, 1, 29) / 1000, date: true, utc: false });
    assert.deepEqual(parseTimeValue('2026-01-01T::'), { local: Date.UTC(2026, 0, 1) / 1000, date: true, utc: false });
    for (const bad of ['2026-02-29', '2026-13-01', '2026-01-01T24:00:00', 'garb-ag-e', '', 42, undefined]) assert.equal(parseTimeValue(bad), undefined, String(bad));
  });
  it('parses durations into nominal days and exact seconds', () => {
    assert.deepEqual(parseDuration('P1DT2H30M'), { days: 1, seconds: 9000 });
    assert.deepEqual(parseDuration('P2W'), { days: 14, seconds: 0 });
    assert.deepEqual(parseDuration('-PT15M'), { days: -0, seconds: -900 });
    for (const bad of ['P', 'PT', 'about an hour', '1H']) assert.equal(parseDuration(bad), undefined, bad);
  });
  it('parses UTC offsets and formats UTC date-times', () => {
    assert.equal(parseUtcOffset('+01:00'), 3600);
    assert.equal(parseUtcOffset('-00:30:15'), -1815);
    assert.equal(parseUtcOffset('+0530'), 19800);
    assert.equal(parseUtcOffset('01:00'), undefined);
    assert.equal(formatUtc(Date.UTC(2026, 2, 29, 1, 30, 5)), '20260329T013005Z');
  });
});
