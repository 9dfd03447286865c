// The Tracking page: search the gateway's message events by Message-ID, queue
// id, sender, recipient and time (#/tracking, or #/tracking/MESSAGE-ID from a
// queue detail). A row whose message is still queued links to its detail.
import { ago, el, newestOnly, query } from './api.js';

let root = null;

function field(label, name, attrs = {}) {
  return el('label', {}, `${label} `, el('input', { name, id: `tracking-${name}`, ...attrs }));
}

/** datetime-local gives local wall time without a zone; the API wants an instant. */
function instant(v) {
  if (!v) return '';
  const t = new Date(v);
  return Number.isNaN(t.getTime()) ? v : t.toISOString();
}

function build() {
  const form = el('form', { id: 'tracking-form', class: 'filters' },
    field('Message-ID', 'messageId', { type: 'search', size: 28, placeholder: '<id@host>' }),
    field('Sender', 'from', { type: 'search', placeholder: 'a@example.org or <>' }),
    field('Recipient', 'to', { type: 'search' }),
    field('Queue id', 'queueId', { type: 'search', size: 20 }),
    field('Since', 'since', { type: 'datetime-local' }),
    field('Until', 'until', { type: 'datetime-local' }),
    el('button', { type: 'submit', id: 'tracking-submit' }, 'Search'));
  form.addEventListener('submit', (e) => { e.preventDefault(); void search(); });
  return [
    el('h2', {}, 'Message tracking'),
    form,
    el('p', { id: 'tracking-status', class: 'muted' }, 'Give any of the fields; all given must match. Newest last.'),
    el('table', { class: 'table', id: 'tracking-table' },
      el('thead', {}, el('tr', {}, ...['When', 'Event', 'Queue id', 'Message-ID', 'Sender', 'Recipient', 'Destination', 'Detail'].map((h) => el('th', {}, h)))),
      el('tbody', {})),
  ];
}

function criteria() {
  const v = (k) => root.querySelector(`#tracking-${k}`).value.trim();
  return { messageId: v('messageId'), from: v('from'), to: v('to'), queueId: v('queueId'), since: instant(v('since')), until: instant(v('until')) };
}

function row(e) {
  const id = e.queued
    ? el('a', { href: `#/queue/${encodeURIComponent(e.queueId)}`, class: 'mono', title: 'still in the queue: open it' }, e.queueId)
    : el('span', { class: 'mono' }, e.queueId);
  return el('tr', { class: 'tracking-row', 'data-event': e.event, 'data-queued': String(e.queued) },
    el('td', { class: 'when', title: new Date(e.at).toISOString() }, ago(e.at)),
    el('td', {}, el('span', { class: `badge badge-${e.event}` }, e.event)),
    el('td', {}, id),
    el('td', { class: 'addr' }, e.messageId ?? ''),
    el('td', { class: 'addr' }, e.sender || '<>'),
    el('td', { class: 'addr' }, e.recipient ?? ''),
    el('td', {}, e.destination ?? ''),
    el('td', { class: 'detail' }, e.detail ?? ''));
}

const searchStarted = newestOnly();

async function search() {
  const status = root.querySelector('#tracking-status');
  status.className = 'muted';
  status.textContent = 'Searching…';
  const isNewest = searchStarted();
  try {
    // Not getJson: a 400 names the field that is wrong, and the page shows that.
    const res = await fetch(`/api/tracking${query({ ...criteria(), limit: 500 })}`, { credentials: 'same-origin' });
    if (res.status === 401) { window.location.assign('/login'); return; }
    const r = await res.json().catch(() => ({}));
    if (!isNewest()) return;
    if (!res.ok) throw new Error(r.error ?? `HTTP ${res.status}`);
    root.querySelector('#tracking-table tbody').replaceChildren(...r.events.map(row));
    status.textContent = r.events.length === 0 ? 'No events match.' : `${r.events.length} event${r.events.length === 1 ? '' : 's'}${r.more ? ' (the newest; narrow the search for older ones)' : ''}.`;
  } catch (err) {
    if (!isNewest()) return;
    status.className = 'error';
    status.textContent = err.message;
  }
}

function apply(params) {
  const mid = params?.[0];
  if (!mid) return false;
  root.querySelector('#tracking-form').reset();
  root.querySelector('#tracking-messageId').value = mid;
  return true;
}

export async function mount(container, ctx) {
  root = container;
  container.replaceChildren(...build());
  apply(ctx.params);
  await search();
}

export async function show(params) {
  apply(params);
  await search();
}
