import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BusyPeriod, type BusyType, mergePeriods } from './index.js';

const P = (s: number, e: number, type: BusyType = 'BUSY'): BusyPeriod => ({ start: new Date(s * 60000), end: new Date(e * 60000), type });
const show = (ps: BusyPeriod[]): string[] => ps.map((p) => `${p.start.getTime() / 60000}-${p.end.getTime() / 60000} ${p.type}`);
const total = (ps: BusyPeriod[]): number => ps.reduce((n, p) => n + p.end.getTime() - p.start.getTime(), 0);

describe('mergePeriods', () => {
  it('merges overlapping and adjacent periods of one type, keeps gaps, sorts', () => {
    assert.deepEqual(show(mergePeriods([P(50, 60), P(0, 10), P(5, 20), P(20, 30)])), ['0-30 BUSY', '50-60 BUSY']);
  });
  it('the stronger type wins where types overlap, without losing time', () => {
    const input = [P(0, 100, 'BUSY-TENTATIVE'), P(20, 40, 'BUSY'), P(30, 50, 'BUSY-UNAVAILABLE')];
    const out = mergePeriods(input);
    assert.deepEqual(show(out), ['0-20 BUSY-TENTATIVE', '20-30 BUSY', '30-50 BUSY-UNAVAILABLE', '50-100 BUSY-TENTATIVE']);
    assert.equal(total(out), 100 * 60000);
  });
  it('a weaker period inside a stronger one disappears', () => {
    assert.deepEqual(show(mergePeriods([P(0, 60, 'BUSY-UNAVAILABLE'), P(10, 20, 'BUSY'), P(15, 30, 'BUSY-TENTATIVE')])), ['0-60 BUSY-UNAVAILABLE']);
  });
  it('adjacent periods of different types stay apart', () => {
    assert.deepEqual(show(mergePeriods([P(0, 10, 'BUSY'), P(10, 20, 'BUSY-TENTATIVE')])), ['0-10 BUSY', '10-20 BUSY-TENTATIVE']);
  });
  it('drops empty, inverted and invalid periods', () => {
    assert.deepEqual(show(mergePeriods([P(5, 5), P(9, 3), { start: new Date(NaN), end: new Date(0), type: 'BUSY' }, P(1, 2)])), ['1-2 BUSY']);
    assert.deepEqual(mergePeriods([]), []);
  });
  it('many random periods: output is sorted, disjoint, and covers exactly the union', () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const types: BusyType[] = ['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'];
    const input = Array.from({ length: 500 }, () => {
      const s = rnd(10000);
      return P(s, s + 1 + rnd(60), types[rnd(3)]);
    });
    const out = mergePeriods(input);
    for (let i = 1; i < out.length; i++) assert.ok(out[i]!.start >= out[i - 1]!.end);
    const covered = new Set<number>();
    for (const p of input) for (let m = p.start.getTime() / 60000; m < p.end.getTime() / 60000; m++) covered.add(m);
    assert.equal(total(out) / 60000, covered.size);
  });
});
