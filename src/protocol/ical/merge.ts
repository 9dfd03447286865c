/**
 * Merging busy periods. One sweep over the boundaries: at every instant the
 * strongest type in force wins (BUSY-UNAVAILABLE > BUSY > BUSY-TENTATIVE), so
 * no busy time is lost where types overlap, and touching or overlapping runs
 * of the same type become one period.
 */
import { BUSY_BY_RANK, BUSY_RANK, type BusyPeriod } from './types.js';

/** Flat form used inside the module: parallel arrays, epoch ms, rank 1..3. */
export interface RawPeriods {
  start: number[];
  end: number[];
  rank: number[];
}

export function mergeRaw(p: RawPeriods): RawPeriods {
  // Per rank, the sorted starts and ends; the union of all boundaries is
  // walked once. Numeric typed-array sorts: no comparator in the hot path.
  const starts: number[][] = [[], [], [], []];
  const ends: number[][] = [[], [], [], []];
  for (let i = 0; i < p.start.length; i++) {
    const r = p.rank[i]!;
    if (p.end[i]! > p.start[i]! && r >= 1 && r <= 3) {
      starts[r]!.push(p.start[i]!);
      ends[r]!.push(p.end[i]!);
    }
  }
  const S = starts.map((a) => new Float64Array(a).sort());
  const E = ends.map((a) => new Float64Array(a).sort());
  const all = new Float64Array(2 * (S[1]!.length + S[2]!.length + S[3]!.length));
  let k = 0;
  for (let r = 1; r <= 3; r++) {
    all.set(S[r]!, k);
    k += S[r]!.length;
    all.set(E[r]!, k);
    k += E[r]!.length;
  }
  all.sort();
  const out: RawPeriods = { start: [], end: [], rank: [] };
  const ps = [0, 0, 0, 0];
  const pe = [0, 0, 0, 0];
  let top = 0;
  let since = 0;
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!;
    if (i > 0 && t === all[i - 1]) continue;
    let now = 0;
    for (let r = 1; r <= 3; r++) {
      const s = S[r]!;
      const e = E[r]!;
      while (ps[r]! < s.length && s[ps[r]!]! <= t) ps[r]!++;
      while (pe[r]! < e.length && e[pe[r]!]! <= t) pe[r]!++;
      if (ps[r]! > pe[r]!) now = r; // half-open: what starts at t is in, what ends at t is out
    }
    if (now === top) continue;
    if (top > 0) {
      out.start.push(since);
      out.end.push(t);
      out.rank.push(top);
    }
    top = now;
    since = t;
  }
  return out;
}

/** Merged, sorted, non-overlapping periods; invalid or empty ones are dropped. */
export function mergePeriods(periods: BusyPeriod[]): BusyPeriod[] {
  const raw: RawPeriods = { start: [], end: [], rank: [] };
  for (const p of periods) {
    const s = p.start.getTime();
    const e = p.end.getTime();
    const r = BUSY_RANK[p.type];
    if (Number.isFinite(s) && Number.isFinite(e) && r !== undefined) {
      raw.start.push(s);
      raw.end.push(e);
      raw.rank.push(r);
    }
  }
  return toPeriods(mergeRaw(raw));
}

export function toPeriods(raw: RawPeriods): BusyPeriod[] {
  return raw.start.map((s, i) => ({ start: new Date(s), end: new Date(raw.end[i]!), type: BUSY_BY_RANK[raw.rank[i]!]! }));
}
