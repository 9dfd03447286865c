import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ICAL from 'ical.js';
import { DAY, civilFromDays, daysFromCivil } from './civil.js';
import { parseRule } from './recur-rule.js';
import { type ExpandLimits, expandRule } from './recur.js';

/** "19970902T090000" -> local seconds. */
function loc(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?$/.exec(s)!;
  return daysFromCivil(+m[1]!, +m[2]!, +m[3]!) * DAY + +(m[4] ?? 0) * 3600 + +(m[5] ?? 0) * 60 + +(m[6] ?? 0);
}

function fmt(l: number): string {
  const c = new Int32Array(3);
  const d = Math.floor(l / DAY);
  civilFromDays(d, c);
  const sod = l - d * DAY;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${c[0]}${p(c[1]!)}${p(c[2]!)}T${p(Math.floor(sod / 3600))}${p(Math.floor(sod / 60) % 60)}${p(sod % 60)}`;
}

function rule(text: string) {
  const raw = ICAL.Recur.fromString(text).toJSON();
  const r = parseRule(raw);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

const open = (): ExpandLimits => ({ from: -Infinity, to: Infinity, untilLocal: Infinity, maxWork: 1e7, deadlinePassed: () => false });

/** Our expansion: DTSTART then the rule's instances, at most n. */
function ours(rrule: string, dtstart: string, n: number, lim: ExpandLimits = open()): string[] {
  const r = rule(rrule);
  const start = loc(dtstart);
  if (r.until) lim.untilLocal = r.until.date ? r.until.local + DAY - 1 : r.until.local;
  const out: string[] = start >= lim.from && start < lim.to ? [fmt(start)] : [];
  expandRule(r, start, dtstart.length === 8, lim, (l) => {
    out.push(fmt(l));
    return out.length < n;
  });
  return out.slice(0, n);
}

/** ical.js as the oracle (floating times, so no zone question). */
function oracle(rrule: string, dtstart: string, n: number): string[] {
  const date = `${dtstart.slice(0, 4)}-${dtstart.slice(4, 6)}-${dtstart.slice(6, 8)}`;
  const it = ICAL.Recur.fromString(rrule).iterator(dtstart.length === 8 ? ICAL.Time.fromDateString(date)
    : ICAL.Time.fromDateTimeString(`${date}T${dtstart.slice(9, 11)}:${dtstart.slice(11, 13)}:${dtstart.slice(13)}`));
  const out: string[] = [];
  for (let t = it.next(); t && out.length < n; t = it.next()) {
    out.push(fmt(daysFromCivil(t.year, t.month, t.day) * DAY + t.hour * 3600 + t.minute * 60 + t.second));
  }
  return out;
}

// RFC 5545 3.8.5.3 examples (floating), plus edge cases of month length and leap years.
const CASES: [string, string][] = [
  ['FREQ=DAILY;COUNT=10', '19970902T090000'],
  ['FREQ=DAILY;UNTIL=19971224T000000', '19970902T090000'],
  ['FREQ=DAILY;INTERVAL=2', '19970902T090000'],
  ['FREQ=DAILY;INTERVAL=10;COUNT=5', '19970902T090000'],
  ['FREQ=YEARLY;UNTIL=20000131T140000;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA', '19980101T090000'],
  ['FREQ=DAILY;UNTIL=20000131T140000;BYMONTH=1', '19980101T090000'],
  ['FREQ=WEEKLY;COUNT=10', '19970902T090000'],
  ['FREQ=WEEKLY;INTERVAL=2;WKST=SU', '19970902T090000'],
  ['FREQ=WEEKLY;UNTIL=19971007T000000;WKST=SU;BYDAY=TU,TH', '19970902T090000'],
  ['FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000;WKST=SU;BYDAY=MO,WE,FR', '19970901T090000'],
  ['FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH', '19970902T090000'],
  ['FREQ=MONTHLY;COUNT=10;BYDAY=1FR', '19970905T090000'],
  ['FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU', '19970907T090000'],
  ['FREQ=MONTHLY;COUNT=6;BYDAY=-2MO', '19970922T090000'],
  ['FREQ=MONTHLY;BYMONTHDAY=-3', '19970928T090000'],
  ['FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15', '19970902T090000'],
  ['FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1', '19970930T090000'],
  ['FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15', '19970910T090000'],
  ['FREQ=MONTHLY;INTERVAL=2;BYDAY=TU', '19970902T090000'],
  ['FREQ=YEARLY;COUNT=10;BYMONTH=6,7', '19970610T090000'],
  ['FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3', '19970310T090000'],
  ['FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200', '19970101T090000'],
  ['FREQ=YEARLY;BYMONTH=3;BYDAY=TH', '19970313T090000'],
  ['FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8', '19970605T090000'],
  ['FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13', '19980213T090000'],
  ['FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13', '19970913T090000'],
  ['FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8', '19961105T090000'],
  ['FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3', '19970904T090000'],
  ['FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2', '19970929T090000'],
  ['FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000', '19970902T090000'],
  ['FREQ=MINUTELY;INTERVAL=15;COUNT=6', '19970902T090000'],
  ['FREQ=MINUTELY;INTERVAL=90;COUNT=4', '19970902T090000'],
  ['FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40', '19970902T090000'],
  ['FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16', '19970902T090000'],
  ['FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO', '19970805T090000'],
  ['FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU', '19970805T090000'],
  ['FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5', '20070115T090000'],
  ['FREQ=MONTHLY', '20070131T090000'],
  ['FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', '19701025T030000'],
  ['FREQ=WEEKLY;BYDAY=MO,WE,FR', '20260105'],
  ['FREQ=MONTHLY;BYDAY=-1FR', '20260130'],
];

describe('recur: expansion matches ical.js on the RFC 5545 examples', () => {
  for (const [rr, start] of CASES) {
    it(`${rr} from ${start}`, () => {
      assert.deepEqual(ours(rr, start, 60), oracle(rr, start, 60));
    });
  }
});

// Rules where ical.js 2.2 is wrong, so the RFC text is the oracle.
const FROM_RFC: [string, string, string[]][] = [
  // "Monday of week number 20 (where the default start of the week is Monday)"
  ['FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO', '19970512T090000', ['19970512', '19980511', '19990517']],
  // "Every 20th Monday of the year, forever"
  ['FREQ=YEARLY;BYDAY=20MO', '19970519T090000', ['19970519', '19980518', '19990517']],
  // 3.3.10: a recurrence on an invalid date (Feb 29 in a common year) is ignored, not moved
  ['FREQ=YEARLY', '20000229T090000', ['20000229', '20040229', '20080229']],
];

describe('recur: hand-checked results from RFC 5545', () => {
  for (const [rr, start, want] of FROM_RFC) {
    it(`${rr} from ${start} (ical.js differs)`, () => {
      assert.deepEqual(ours(rr, start, 3).map((x) => x.slice(0, 8)), want);
    });
  }
  it('WKST changes an every-other-week rule (RFC example: Aug 5,10,19,24 vs 5,17,19,31)', () => {
    assert.deepEqual(ours('FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO', '19970805T090000', 10).map((s) => s.slice(0, 8)),
      ['19970805', '19970810', '19970819', '19970824']);
    assert.deepEqual(ours('FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU', '19970805T090000', 10).map((s) => s.slice(0, 8)),
      ['19970805', '19970817', '19970819', '19970831']);
  });
  it('BYSETPOS=3 picks the third weekday-of-set per month', () => {
    assert.deepEqual(ours('FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3', '19970904T090000', 10).map((s) => s.slice(0, 8)),
      ['19970904', '19971007', '19971106']);
  });
  it('a monthly rule on the 31st skips shorter months', () => {
    assert.deepEqual(ours('FREQ=MONTHLY;COUNT=4', '20260131T090000', 10).map((s) => s.slice(0, 8)),
      ['20260131', '20260331', '20260531', '20260731']);
  });
  it('UNTIL is inclusive', () => {
    assert.deepEqual(ours('FREQ=DAILY;UNTIL=20260103T090000', '20260101T090000', 10).map((s) => s.slice(0, 8)),
      ['20260101', '20260102', '20260103']);
  });
});

describe('recur: window and caps', () => {
  const NO_COUNT = [...CASES, ...FROM_RFC].filter(([rr]) => !rr.includes('COUNT') && !rr.startsWith('FREQ=MINUTELY') && !rr.startsWith('FREQ=HOURLY'));
  it('jumping to the window gives exactly the instances of a walk from DTSTART', () => {
    const walk = (rr: string, start: string, lim: ExpandLimits): number[] => {
      const out = [loc(start)].filter((l) => l >= lim.from && l < lim.to);
      expandRule(rule(rr), loc(start), start.length === 8, lim, (l) => (out.push(l), true));
      return out;
    };
    for (const [rr, start] of NO_COUNT) {
      const all = walk(rr, start, { ...open(), to: loc('20100101') });
      for (const [a, b] of [['19990301', '19990401'], ['20040210', '20040211'], ['20081231', '20100101']] as const) {
        const got = walk(rr, start, { ...open(), from: loc(a), to: loc(b) });
        assert.deepEqual(got, all.filter((l) => l >= loc(a) && l < loc(b)), `${rr} in ${a}..${b}`);
      }
    }
  });
  it('a window ending inside a YEARLY;BYMONTH year keeps that year\'s earlier months', () => {
    const lim = { ...open(), from: loc('20260101'), to: loc('20260301') };
    assert.deepEqual(ours('FREQ=YEARLY;BYMONTH=1,6;BYMONTHDAY=15', '20200115T090000', 10, lim), ['20260115T090000']);
  });
  it('a daily series from 1990 costs little work when only 2026 is asked for', () => {
    let work = 0;
    const lim = { ...open(), from: loc('20260301'), to: loc('20260401'), maxWork: 200 };
    const out: number[] = [];
    const stop = expandRule(rule('FREQ=DAILY'), loc('19900101T090000'), false, lim, (l) => (out.push(l), ++work > 0));
    assert.equal(stop, 'done');
    assert.equal(out.length, 31);
  });
  for (const [rr, start] of [
    ['FREQ=SECONDLY', '20260101T000000'],
    ['FREQ=SECONDLY;COUNT=1000000000', '19700101T000000'],
    ['FREQ=DAILY;COUNT=1000000000', '19000101T090000'],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', '19000101T090000'],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=5', '00010101T090000'],
    ['FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=5', '19000101T090000'],
    ['FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30;COUNT=5', '19000101T090000'],
    ['FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4;COUNT=2', '19000101T090000'],
    ['FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6;COUNT=2', '19000101T090000'],
  ] as const) {
    it(`${rr} from ${start} ends within the work cap in < 500 ms`, () => {
      const t = performance.now();
      const lim = { ...open(), from: loc('20260301'), to: loc('20260401'), maxWork: 350_000 };
      let n = 0;
      const stop = expandRule(rule(rr), loc(start), false, lim, () => ++n < 3500);
      assert.ok(performance.now() - t < 500, `took ${performance.now() - t} ms`);
      assert.ok(['done', 'work', 'emit'].includes(stop));
    });
  }
  it('the deadline stops a long expansion', () => {
    let polls = 0;
    const lim = { ...open(), from: loc('19700101'), to: loc('20300101'), maxWork: 1e9, deadlinePassed: () => ++polls > 2 };
    const stop = expandRule(rule('FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30'), loc('19700101T000000'), false, lim, () => true);
    assert.equal(stop, 'deadline');
  });
  it('invalid rule parts are refused with a reason', () => {
    assert.equal(parseRule({ freq: 'WEEKLY', byhour: [25] }), 'invalid RRULE BYHOUR');
    assert.equal(parseRule({ freq: 'NEVER' }), 'invalid RRULE FREQ');
    assert.equal(parseRule({ freq: 'DAILY', interval: 0 }), 'invalid RRULE INTERVAL');
    assert.equal(parseRule({ freq: 'DAILY', byday: ['XX'] }), 'invalid RRULE BYDAY');
    assert.equal(parseRule({ freq: 'DAILY', until: 'garb-ag-e' }), 'invalid RRULE UNTIL');
  });
});
