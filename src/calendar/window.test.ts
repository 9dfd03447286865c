import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/errors.js';
import { parseInstant, resolveWindow } from './window.js';

const DAY = 86_400_000;
const limits = { windowBack: DAY, windowForward: 60 * DAY, maxWindow: 62 * DAY };

describe('parseInstant', () => {
  for (const [text, iso] of [
    ['2030-03-04', '2030-03-04T00:00:00.000Z'],
    ['2030-03-04T09:30:00Z', '2030-03-04T09:30:00.000Z'],
    ['2030-03-04T09:30Z', '2030-03-04T09:30:00.000Z'],
    ['2030-03-04T09:30:00.250Z', '2030-03-04T09:30:00.250Z'],
    ['2030-03-04T10:30:00+01:00', '2030-03-04T09:30:00.000Z'],
    ['2030-03-04T10:30:00 01:00', '2030-03-04T09:30:00.000Z'], // '+' decoded as space from a query string
    ['2030-03-04T04:30:00-0500', '2030-03-04T09:30:00.000Z'],
    ['2030-03-04T09:30:00', '2030-03-04T09:30:00.000Z'],
    ['20300304T093000Z', '2030-03-04T09:30:00.000Z'],
    ['20300304', '2030-03-04T00:00:00.000Z'],
  ] as const) {
    it(`reads ${text}`, () => assert.equal(parseInstant(text)?.toISOString(), iso));
  }
  for (const text of ['', 'tomorrow', '2030-02-30', '2030-13-01', '2030-03-04T25:00Z', '2030-03-04T09:60Z', '2030-03-04T09:00+15:00', '1710000000', '2030-3-4']) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseInstant(text), null));
  }
});

describe('resolveWindow', () => {
  const now = Date.parse('2030-03-04T09:17:23Z');
  const bad = (e: unknown) => MbError.is(e, 'CALENDAR_WINDOW_INVALID');

  it('defaults to back/forward from now widened to whole hours', () => {
    const w = resolveWindow({}, limits, now);
    assert.equal(w.start.toISOString(), '2030-03-03T09:00:00.000Z');
    assert.equal(w.end.toISOString(), '2030-05-03T10:00:00.000Z');
  });
  it('keeps the default within maxWindow', () => {
    const w = resolveWindow({}, { ...limits, windowForward: 70 * DAY }, now);
    assert.equal(w.end.getTime() - w.start.getTime(), 62 * DAY);
  });
  it('takes an explicit window', () => {
    const w = resolveWindow({ start: '2030-03-04', end: '2030-03-05' }, limits, now);
    assert.equal(w.end.getTime() - w.start.getTime(), DAY);
  });
  it('accepts exactly maxWindow and refuses one millisecond more', () => {
    assert.doesNotThrow(() => resolveWindow({ start: '2030-01-01', end: '2030-03-04' }, limits, now));
    assert.throws(() => resolveWindow({ start: '2030-01-01', end: '2030-03-04T00:00:00.001Z' }, limits, now), bad);
  });
  it('refuses end <= start and malformed dates', () => {
    assert.throws(() => resolveWindow({ start: '2030-03-04', end: '2030-03-04' }, limits, now), bad);
    assert.throws(() => resolveWindow({ start: '2030-03-05', end: '2030-03-04' }, limits, now), bad);
    assert.throws(() => resolveWindow({ start: 'soon', end: '2030-03-04' }, limits, now), bad);
  });
  it('fills a missing end from start', () => {
    const w = resolveWindow({ start: '2030-03-04' }, limits, now);
    assert.equal(w.end.getTime() - w.start.getTime(), 60 * DAY);
  });
});
