// The Free/busy page: a person's busy time for one day (#/freebusy/ADDRESS/DAY)
// as a grid of hours with the busy blocks on it, in the viewer's time zone,
// from the same broker as /freebusy (GET /api/freebusy/ADDRESS?day=&tz=).
import { el, newestOnly, query } from './api.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 960;
const H = 64;
const TOP = 20;
let root = null;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const zone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const hhmm = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

function buildShell() {
  const form = el('form', { id: 'fb-form', class: 'filters' },
    el('label', {}, 'Person ', el('input', { id: 'fb-address', name: 'address', type: 'email', size: 32, required: '', placeholder: 'someone@example.com' })),
    el('label', {}, 'Day ', el('input', { id: 'fb-day', name: 'day', type: 'date', required: '', value: today() })),
    el('button', { type: 'submit', id: 'fb-submit' }, 'Look up'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const a = root.querySelector('#fb-address').value.trim();
    const d = root.querySelector('#fb-day').value;
    const hash = `#/freebusy/${encodeURIComponent(a)}/${d}`;
    // The same hash again fires no hashchange: look up directly then.
    if (window.location.hash === hash) void lookup(a, d);
    else window.location.hash = hash;
  });
  root.replaceChildren(
    el('h2', {}, 'Free/busy'),
    form,
    el('p', { class: 'muted' }, `Times in ${zone()}.`),
    el('section', { id: 'fb-result' }));
}

/** The day as a strip of 24 hours, busy periods drawn over it. */
function dayGrid(start, end, busy) {
  const span = end - start;
  const x = (t) => ((Math.min(Math.max(t, start), end) - start) / span) * W;
  const grid = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'fb-grid', id: 'fb-grid', role: 'img', 'aria-label': 'busy time by hour', 'data-busy': busy.length });
  grid.append(svg('rect', { x: 0, y: TOP, width: W, height: H - TOP, class: 'fb-free' }));
  // Hour lines and labels under the busy blocks (a day of 23 or 25 hours at a DST change has that many).
  const hours = Math.round(span / 3_600_000);
  for (let h = 0; h <= hours; h++) {
    const t = start + h * 3_600_000;
    grid.append(svg('line', { x1: x(t), x2: x(t), y1: TOP - 4, y2: H, class: 'fb-hour' }));
    if (h < hours && h % 2 === 0) grid.append(svg('text', { x: x(t) + 2, y: TOP - 6, class: 'chart-label' }, hhmm(new Date(t))));
  }
  for (const b of busy) {
    const s = Date.parse(b.start);
    const e = Date.parse(b.end);
    grid.append(svg('rect', { x: x(s), y: TOP, width: Math.max(2, x(e) - x(s)), height: H - TOP, class: `fb-busy fb-${b.type.toLowerCase()}`, 'data-start': b.start, 'data-end': b.end, 'data-type': b.type },
      svg('title', {}, `${b.type.toLowerCase()} ${hhmm(new Date(s))}–${hhmm(new Date(e))}`)));
  }
  return grid;
}

const lookupStarted = newestOnly();

async function lookup(address, day) {
  const isNewest = lookupStarted();
  root.querySelector('#fb-address').value = address;
  root.querySelector('#fb-day').value = day;
  const box = root.querySelector('#fb-result');
  box.replaceChildren(el('p', { class: 'muted' }, `Asking for ${address}…`));
  const res = await fetch(`/api/freebusy/${encodeURIComponent(address)}${query({ day, tz: zone() })}`, { credentials: 'same-origin' });
  if (res.status === 401) { window.location.assign('/login'); return; }
  const r = await res.json().catch(() => ({}));
  if (!isNewest()) return;
  if (!res.ok) {
    box.replaceChildren(el('p', { class: 'error', id: 'fb-error' }, r.error ?? `HTTP ${res.status}`));
    return;
  }
  const head = el('h3', { id: 'fb-title', 'data-status': r.status }, `${r.address} on ${r.day}`, r.system ? el('span', { class: 'muted' }, ` (calendar on ${r.system})`) : '');
  if (r.status !== 'ok') {
    box.replaceChildren(head, el('p', { class: 'error', id: 'fb-error' }, `${r.status}: ${r.error?.message ?? 'no information'}`));
    return;
  }
  const list = r.busy.length
    ? el('ul', { class: 'plain', id: 'fb-list' }, ...r.busy.map((b) => el('li', {}, `${b.type.toLowerCase()} ${hhmm(new Date(b.start))}–${hhmm(new Date(b.end))}`)))
    : el('p', { class: 'muted', id: 'fb-list' }, 'Free all day.');
  box.replaceChildren(head, dayGrid(Date.parse(r.start), Date.parse(r.end), r.busy), list,
    el('p', { class: 'muted' }, `Source: ${r.method ?? '–'}${r.cache ? `, cache ${r.cache}` : ''}${r.skipped ? `, ${r.skipped} unreadable event(s) left out` : ''}.`));
}

export async function mount(container, { params }) {
  root = container;
  buildShell();
  await show(params);
}

export async function show(params = []) {
  if (params[0]) await lookup(params[0], params[1] || today());
}

export function hide() {}
