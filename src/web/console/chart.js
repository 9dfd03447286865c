// Charts for the console as SVG built with createElementNS: no inline styles
// (the CSP forbids them), colours come from classes in console.css, and every
// value reaches the DOM as an attribute or text, never as markup.
import { el, getJson, query } from './api.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 720;
const H = 200;
const PAD = { left: 56, right: 12, top: 12, bottom: 26 };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** A round number at or above v for the y axis (1, 2, 5 x 10^n). */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function formatBytes(n) {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A count on an axis: whole numbers as they are, steps below one with a decimal. */
export function formatCount(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function formatMs(ms) {
  if (ms < 10) return `${formatCount(ms)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

function clock(t) {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/**
 * A time chart: `lines` [{ name, points: [[t, v], ...] }] drawn as polylines
 * (a gap of more than `gapMs` breaks a line), or `bars` ({ name, points, widthMs })
 * as columns. The SVG carries data-series/data-points for tests and tools.
 */
export function timeChart({ title, from, to, lines = [], bars = null, format = String, gapMs = 5 * 60_000, empty = 'no data yet' }) {
  const all = [...lines.flatMap((l) => l.points), ...(bars ? bars.points : [])];
  const max = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const x = (t) => PAD.left + ((t - from) / Math.max(1, to - from)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title, preserveAspectRatio: 'none' });
  root.append(svg('title', {}, title));
  // Axes and grid: four horizontal lines, hour ticks (at most 12 labels).
  // 5 steps for a maximum of 1 or 5 (x 10^n), 4 for 2: every label a round number.
  const steps = Number(max.toPrecision(1)[0]) === 2 ? 4 : 5;
  for (let i = 0; i <= steps; i++) {
    const v = (max * i) / steps;
    root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'chart-grid' }));
    root.append(svg('text', { x: PAD.left - 6, y: y(v) + 4, class: 'chart-label', 'text-anchor': 'end' }, format(v)));
  }
  const hour = 3_600_000;
  const step = Math.max(1, Math.ceil((to - from) / hour / 12)) * hour;
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    root.append(svg('line', { x1: x(t), x2: x(t), y1: PAD.top, y2: H - PAD.bottom, class: 'chart-grid' }));
    root.append(svg('text', { x: x(t), y: H - 8, class: 'chart-label', 'text-anchor': 'middle' }, clock(t)));
  }
  if (bars) {
    const w = Math.max(1, x(from + bars.widthMs) - x(from) - 1);
    const g = svg('g', { class: 'chart-bars', 'data-series': bars.name, 'data-points': bars.points.length });
    for (const [t, v] of bars.points) {
      g.append(svg('rect', { x: x(t), y: y(v), width: w, height: Math.max(0, y(0) - y(v)), class: 'chart-bar' },
        svg('title', {}, `${clock(t)}: ${format(v)}`)));
    }
    root.append(g);
  }
  lines.forEach((l, i) => {
    const g = svg('g', { class: `chart-line chart-c${i % 6}`, 'data-series': l.name, 'data-points': l.points.length });
    let run = [];
    const flush = () => {
      if (run.length === 1) g.append(svg('circle', { cx: run[0][0], cy: run[0][1], r: 2 }));
      else if (run.length > 1) g.append(svg('polyline', { points: run.map((p) => p.join(',')).join(' ') }));
      run = [];
    };
    let prev = null;
    for (const [t, v] of l.points) {
      if (prev !== null && t - prev > gapMs) flush();
      run.push([x(t).toFixed(1), y(v).toFixed(1)]);
      prev = t;
    }
    flush();
    root.append(g);
  });
  const legend = el('ul', { class: 'chart-legend' }, ...lines.map((l, i) => el('li', { class: `chart-c${i % 6}` }, l.name)));
  const figure = el('figure', { class: 'chart-box' }, el('figcaption', {}, title));
  figure.append(root);
  if (all.length === 0) figure.append(el('p', { class: 'muted chart-empty' }, empty));
  if (lines.length > 1) figure.append(legend);
  return figure;
}

/**
 * The gateway and migration history of the last 24 h (GET /api/charts) into
 * `container`: queue depth per destination, delivery latency p50/p95, and
 * messages the migration copied per minute.
 */
export async function renderCharts(container, { hours = 24 } = {}) {
  const now = Date.now();
  const from = now - hours * 3_600_000;
  const { series } = await getJson(`/api/charts${query({ since: from })}`);
  const pick = (name) => series.filter((s) => s.series === name);
  const depth = pick('queue.depth').map((s) => ({ name: s.label || 'all', points: s.points }));
  const latency = [...pick('delivery.latency.p50'), ...pick('delivery.latency.p95')].map((s) => ({ name: s.series.replace('delivery.latency.', ''), points: s.points }));
  const copied = pick('migration.messages')[0];
  container.replaceChildren(
    timeChart({ title: `Queue depth per destination (last ${hours} h)`, from, to: now, lines: depth, format: formatCount, empty: 'no samples yet: mailbridge serve records one a minute' }),
    timeChart({ title: `Delivery latency, received to delivered (last ${hours} h)`, from, to: now, lines: latency, format: formatMs, empty: 'no deliveries in this period' }),
    timeChart({ title: `Migration: messages copied per minute (last ${hours} h)`, from, to: now, lines: copied ? [{ name: 'messages', points: copied.points }] : [], format: formatCount }),
  );
}
