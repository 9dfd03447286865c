// The Directory page: search people by address, alias or name (#/directory),
// one record (#/directory/ADDRESS) with where each value came from, the
// contacts made for it and the routing decision; the open conflicts and the last
// sync runs below.
import { ago, el, getDetail, getJson, newestOnly, query } from './api.js';

const PAGE_SIZE = 25;
let root = null;
let offset = 0;
let systemsFilled = false;
const searchStarted = newestOnly();

const text = (v) => (v == null || v === '' ? '–' : String(v));
const badge = (state) => el('span', { class: `badge badge-${state}`, 'data-state': state }, state);

function buildShell() {
  const system = el('select', { id: 'dir-system', name: 'system' }, el('option', { value: '' }, 'any system'));
  const form = el('form', { id: 'dir-search', class: 'filters', role: 'search' },
    el('label', {}, 'Address, alias or name ', el('input', { id: 'dir-q', name: 'q', type: 'search', size: 32, placeholder: 'alice, sales@…, Smith' })),
    el('label', {}, 'Home system ', system),
    el('button', { type: 'submit', id: 'dir-submit' }, 'Search'));
  form.addEventListener('submit', (e) => { e.preventDefault(); offset = 0; void search(); });
  system.addEventListener('change', () => { offset = 0; void search(); });
  root.replaceChildren(
    el('h2', {}, 'Directory'),
    form,
    el('p', { id: 'dir-count', class: 'muted' }),
    el('table', { class: 'table dir-table', id: 'dir-results' },
      el('thead', {}, el('tr', {}, ...['Address', 'Name', 'Home system', 'Migration', 'Aliases'].map((h) => el('th', {}, h)))),
      el('tbody', {})),
    el('div', { class: 'pager', id: 'dir-pager' }),
    el('section', { id: 'dir-record', class: 'dir-record', hidden: '' }),
    el('h2', {}, 'Conflicts'),
    el('div', { id: 'dir-conflicts' }),
    el('h2', {}, 'Last sync runs'),
    el('div', { id: 'dir-runs' }));
}

async function search() {
  const q = root.querySelector('#dir-q').value.trim();
  const system = root.querySelector('#dir-system').value;
  const isNewest = searchStarted();
  const r = await getJson(`/api/directory/people${query({ q, system, limit: PAGE_SIZE, offset })}`);
  if (!isNewest()) return;
  if (!systemsFilled) {
    root.querySelector('#dir-system').append(...r.systems.map((s) => el('option', { value: s }, s)));
    systemsFilled = true;
  }
  const rows = r.people.map((p) => el('tr', { 'data-address': p.address },
    el('td', { class: 'addr' }, el('a', { href: `#/directory/${encodeURIComponent(p.address)}` }, p.address)),
    el('td', {}, text(p.displayName)),
    el('td', {}, p.homeSystem),
    el('td', {}, badge(p.migrationState)),
    el('td', { class: 'addr muted' }, p.aliases.join(', '))));
  root.querySelector('#dir-results tbody').replaceChildren(...rows);
  root.querySelector('#dir-results').dataset.q = q;
  root.querySelector('#dir-count').textContent = r.total === 0
    ? 'Nobody matches.'
    : `${r.total} ${r.total === 1 ? 'person' : 'people'}${r.total > r.people.length ? `, showing ${offset + 1}–${offset + r.people.length}` : ''}`;
  const pager = root.querySelector('#dir-pager');
  pager.replaceChildren();
  if (offset > 0) {
    const prev = el('button', { type: 'button', class: 'quiet' }, 'Previous');
    prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE_SIZE); void search(); });
    pager.append(prev);
  }
  if (offset + r.people.length < r.total) {
    const next = el('button', { type: 'button', class: 'quiet' }, 'Next');
    next.addEventListener('click', () => { offset += PAGE_SIZE; void search(); });
    pager.append(next);
  }
}

function facts(pairs) {
  const dl = el('dl', { class: 'facts' });
  for (const [k, v] of pairs) dl.append(el('dt', {}, k), el('dd', {}, v instanceof Node ? v : text(v)));
  return dl;
}

async function showRecord(address) {
  const box = root.querySelector('#dir-record');
  box.hidden = false;
  box.replaceChildren(el('p', { class: 'muted' }, `Loading ${address}…`));
  const { ok, status, body: r } = await getDetail(`/api/directory/people/${encodeURIComponent(address)}`);
  const close = el('a', { href: '#/directory', class: 'quiet' }, 'close');
  if (!ok) {
    box.replaceChildren(el('h3', {}, address, ' ', close), el('p', { class: 'error', id: 'dir-record-error' }, r.error ?? `HTTP ${status}`));
    return;
  }
  const u = r.record;
  const routing = r.routing ? el('span', { id: 'dir-routing' }, el('strong', {}, `→ ${r.routing.system}`), ' ', el('span', { class: 'muted' }, r.routing.reason)) : '–';
  const parts = [
    el('h3', { id: 'dir-record-title', 'data-address': u.address }, u.address, ' ', close),
    facts([
      ['Display name', u.displayName], ['Aliases', u.aliases.join(', ')], ['Home system', u.homeSystem],
      ['Migration', u.migrationState], ['Routing', routing], ['Record from', u.sourceSystem ? `${u.sourceSystem} ${u.sourceId ?? ''}` : null],
      ['Updated', ago(u.updatedAt)],
      ...Object.entries(u.attributes ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ]),
    el('h4', {}, 'Where each value came from'),
  ];
  const originRows = [];
  for (const s of r.sources) {
    const used = s.system === u.sourceSystem && s.sourceId === u.sourceId;
    for (const [field, from] of Object.entries(s.origins)) {
      if (field === 'dn') continue;
      originRows.push(el('tr', { 'data-field': field, 'data-system': s.system },
        el('td', {}, s.system, used ? el('span', { class: 'muted' }, ' (used)') : ''), el('th', { scope: 'row' }, field),
        el('td', { class: 'mono' }, from), el('td', { class: 'mono addr muted' }, s.origins.dn ?? s.sourceId)));
    }
  }
  parts.push(originRows.length
    ? el('table', { class: 'table', id: 'dir-origins' }, el('thead', {}, el('tr', {}, ...['System', 'Field', 'From attribute', 'Entry'].map((h) => el('th', {}, h)))), el('tbody', {}, ...originRows))
    : el('p', { class: 'muted' }, 'No source entry names this address (set outside directory sync).'));
  if (r.contacts.length) {
    parts.push(el('h4', {}, 'Contacts made for this person'),
      el('ul', { class: 'plain' }, ...r.contacts.map((c) => el('li', {}, `${c.system}: `, el('span', { class: 'mono addr' }, c.dn)))));
  }
  if (r.conflicts.length) {
    parts.push(el('h4', {}, 'Conflicts'), el('ul', { class: 'plain' }, ...r.conflicts.map((c) => el('li', { class: 'error' }, `${c.kind}: ${c.detail}`))));
  }
  box.replaceChildren(...parts);
}

async function loadSide() {
  const [{ conflicts }, { runs }] = await Promise.all([getJson('/api/directory/conflicts'), getJson('/api/directory/runs?limit=10')]);
  root.querySelector('#dir-conflicts').replaceChildren(conflicts.length
    ? el('table', { class: 'table', id: 'dir-conflict-table' },
      el('thead', {}, el('tr', {}, ...['Kind', 'Address', 'Systems', 'Winner', 'Detail', 'Since'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...conflicts.map((c) => el('tr', {},
        el('td', {}, c.kind), el('td', { class: 'addr' }, el('a', { href: `#/directory/${encodeURIComponent(c.address)}` }, c.address)),
        el('td', {}, c.systems.join(', ')), el('td', {}, text(c.winner)), el('td', { class: 'detail' }, c.detail), el('td', { class: 'when' }, ago(c.firstSeen))))))
    : el('p', { class: 'muted' }, 'No open conflicts.'));
  const count = (c, k) => c[k] ?? 0;
  root.querySelector('#dir-runs').replaceChildren(runs.length
    ? el('table', { class: 'table', id: 'dir-run-table' },
      el('thead', {}, el('tr', {}, ...['Started', 'Status', 'Duration', 'Counts', 'Error'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...runs.map((r) => el('tr', { 'data-status': r.status },
        el('td', { class: 'when' }, ago(r.startedAt)), el('td', {}, badge(r.status)),
        el('td', { class: 'num' }, r.finishedAt ? `${((r.finishedAt - r.startedAt) / 1000).toFixed(1)} s` : 'running'),
        el('td', { class: 'muted' }, Object.keys(r.counts).length ? Object.entries(r.counts).map(([k]) => `${k} ${count(r.counts, k)}`).join(', ') : '–'),
        el('td', { class: 'error' }, r.error ?? '')))))
    : el('p', { class: 'muted' }, 'No directory sync has run yet.'));
}

export async function mount(container, { params }) {
  root = container;
  buildShell();
  await Promise.all([search(), loadSide()]);
  await show(params);
}

export async function show(params = []) {
  const box = root.querySelector('#dir-record');
  if (params[0]) await showRecord(params[0]);
  else box.hidden = true;
  if (params.length === 0) await loadSide();
}

export function hide() {}
