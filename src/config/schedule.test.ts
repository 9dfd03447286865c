import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextDueIn, parseSchedule } from './schedule.js';

test('migration.schedule: intervals and daily times parse; anything else is refused with a reason', () => {
  assert.deepEqual(parseSchedule('1h'), { ok: true, value: { kind: 'every', ms: 3_600_000 } });
  assert.deepEqual(parseSchedule('02:00'), { ok: true, value: { kind: 'daily', times: [{ hour: 2, minute: 0 }] } });
  assert.deepEqual(parseSchedule('14:30, 2:05'), { ok: true, value: { kind: 'daily', times: [{ hour: 2, minute: 5 }, { hour: 14, minute: 30 }] } });
  for (const bad of ['nightly', '25:00', '10s', '02:00, later']) {
    const r = parseSchedule(bad);
    assert.equal(r.ok, false, bad);
    assert.match(!r.ok ? r.reason : '', new RegExp(bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
});

test('nextDueIn: the next daily time today, else tomorrow\'s first; intervals as given', () => {
  const daily = parseSchedule('02:00, 14:00');
  assert.ok(daily.ok);
  assert.equal(nextDueIn(daily.value, new Date(2026, 0, 10, 1, 30)), 30 * 60_000);
  assert.equal(nextDueIn(daily.value, new Date(2026, 0, 10, 2, 0)), 12 * 3_600_000);
  assert.equal(nextDueIn(daily.value, new Date(2026, 0, 10, 23, 0)), 3 * 3_600_000);
  const every = parseSchedule('90m');
  assert.ok(every.ok);
  assert.equal(nextDueIn(every.value, new Date()), 90 * 60_000);
});
