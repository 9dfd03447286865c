// The Queue page: the gateway's queue with filters (#/queue), one message
// (#/queue/ID) with its envelope, headers, per-recipient state and tracking
// events, and the actions hold / release / retry / delete, each confirmed in a
// second step on the page. Polls every few seconds while shown.
import { ago, el, getJson, newestOnly, query, sendJson } from './api.js';

const POLL_MS = 3000;
const PAGE_SIZE = 50;

let root = null;
let session = null;
let timer = null;
let current = { id: null };
let offset = 0;
let pending = null; // the action waiting for its confirmation: { op, bounce }
let busy = false;
let lastDetail = null;
let note = { text: '', cls: 'note' }; // the outcome of the last action, shown above the facts

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function age(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function when(ms) {
  if (ms == null) return '';
  const d = ms - Date.now();
  if (d > 0) return `in ${age(d)}`;
  return ago(ms);
}

const stateBadge = (state) => el('span', { class: `badge badge-${state}`, 'data-state': state }, state);

function filters() {
  const v = (id) => root.querySelector(id).value.trim();
  return { destination: v('#queue-destination'), state: v('#queue-state'), olderThan: v('#queue-older'), recipient: v('#queue-recipient') };
}

function buildList() {
  const dest = el('select', { name: 'destination', id: 'queue-destination' }, el('option', { value: '' }, 'any destination'));
  const state = el('select', { name: 'state', id: 'queue-state' }, el('option', { value: '' }, 'any state'),
    ...['held', 'cutover', 'deferred', 'queued', 'finishing'].map((s) => el('option', { value: s }, s === 'cutover' ? 'held for cutover' : s)));
  const form = el('form', { id: 'queue-filters', class: 'filters' },
    el('label', {}, 'Destination ', dest),
    el('label', {}, 'State ', state),
    el('label', {}, 'Older than ', el('input', { name: 'olderThan', id: 'queue-older', size: 6, placeholder: '10m' })),
    el('label', {}, 'Recipient ', el('input', { name: 'recipient', id: 'queue-recipient', type: 'search', placeholder: 'part of an address' })),
    el('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => { e.preventDefault(); offset = 0; void refresh(); });
  for (const s of [dest, state]) s.addEventListener('change', () => { offset = 0; void refresh(); });
  const table = el('table', { class: 'table', id: 'queue-table' },
    el('thead', {}, el('tr', {}, ...['Queue id', 'State', 'Age', 'From', 'Recipients', 'Size', 'Last reply'].map((h) => el('th', {}, h)))),
    el('tbody', {}));
  const pager = el('div', { class: 'pager', id: 'queue-pager' });
  return el('section', { id: 'queue-list' },
    el('h2', {}, 'Queue ', el('span', { id: 'queue-count', class: 'muted' })),
    form, el('p', { id: 'queue-error', class: 'error', hidden: '' }), table, pager);
}

function renderList(r) {
  root.querySelector('#queue-count').textContent = `${r.total} of ${r.queued} message${r.queued === 1 ? '' : 's'}${r.mode === 'control' ? ' (gateway in another process)' : ''}`;
  const dest = root.querySelector('#queue-destination');
  const chosen = dest.value;
  const known = new Set([...dest.options].map((o) => o.value));
  for (const d of r.destinations) if (!known.has(d)) dest.append(el('option', { value: d }, d));
  dest.value = chosen;
  const rows = r.messages.map((m) => {
    const last = m.recipients.map((x) => x.lastReply).filter(Boolean).at(-1) ?? '';
    return el('tr', { class: 'queue-row', 'data-id': m.id, 'data-state': m.state },
      el('td', {}, el('a', { href: `#/queue/${encodeURIComponent(m.id)}`, class: 'mono' }, m.id)),
      el('td', {}, stateBadge(m.state)),
      el('td', { class: 'num' }, age(m.ageMs)),
      el('td', { class: 'addr' }, m.from || '<>'),
      el('td', { class: 'addr' }, m.recipients.map((x) => `${x.address} (${x.status})`).join(', ')),
      el('td', { class: 'num' }, size(m.size)),
      el('td', { class: 'detail' }, last));
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, r.queued === 0 ? 'The queue is empty.' : 'No message matches these filters.')));
  root.querySelector('#queue-table tbody').replaceChildren(...rows);
  const pager = root.querySelector('#queue-pager');
  const prev = el('button', { type: 'button', class: 'quiet' }, '‹ Newer');
  const next = el('button', { type: 'button', class: 'quiet' }, 'Older ›');
  prev.disabled = offset === 0;
  next.disabled = offset + r.limit >= r.total;
  prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE_SIZE); void refresh(); });
  next.addEventListener('click', () => { offset += PAGE_SIZE; void refresh(); });
  pager.replaceChildren(prev, el('span', { class: 'muted' }, r.total ? `${offset + 1}–${Math.min(r.total, offset + r.limit)}` : ''), next);
}

function dl(pairs) {
  return el('dl', { class: 'facts' }, ...pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function eventsTable(events) {
  return el('table', { class: 'table', id: 'queue-events' },
    el('thead', {}, el('tr', {}, ...['When', 'Event', 'Recipient', 'Destination', 'Detail'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...events.map((e) => el('tr', { class: 'event-row', 'data-event': e.event },
      el('td', { class: 'when', title: new Date(e.at).toISOString() }, ago(e.at)), el('td', {}, e.event),
      el('td', { class: 'addr' }, e.recipient ?? ''), el('td', {}, e.destination ?? ''), el('td', { class: 'detail' }, e.detail ?? '')))));
}

const ACTIONS = [
  { op: 'hold', label: 'Hold', when: (m) => !m.held, text: 'Hold this message? It stays in the queue, undelivered, until released.' },
  { op: 'release', label: 'Release', when: (m) => m.held, text: 'Release this message? Delivery is tried at once.' },
  { op: 'retry', label: 'Retry now', when: (m) => !m.held && m.state !== 'finishing', text: 'Try the pending recipients now?' },
  { op: 'delete', label: 'Delete', when: () => true, text: 'Delete this message without telling the sender? This cannot be undone.' },
  { op: 'delete', bounce: true, label: 'Delete and bounce', when: () => true, text: 'Delete this message and send the sender a failure notice (DSN) for the pending recipients?' },
];

function actionBar(m) {
  const bar = el('div', { class: 'actions', id: 'queue-actions' });
  if (pending) {
    const a = ACTIONS.find((x) => x.op === pending.op && !!x.bounce === !!pending.bounce);
    const yes = el('button', { type: 'button', id: 'queue-confirm', class: a.op === 'delete' ? 'danger' : '' }, `Yes, ${a.label.toLowerCase()}`);
    const no = el('button', { type: 'button', id: 'queue-cancel', class: 'quiet' }, 'Cancel');
    yes.addEventListener('click', () => void run(m.id, pending));
    no.addEventListener('click', () => { pending = null; repaint(); });
    bar.append(el('div', { class: 'confirm', role: 'alertdialog', 'aria-label': 'confirm the action' }, el('span', {}, a.text), yes, no));
    return bar;
  }
  for (const a of ACTIONS.filter((x) => x.when(m))) {
    const b = el('button', { type: 'button', class: a.op === 'delete' ? 'quiet danger' : 'quiet', 'data-op': a.op, ...(a.bounce ? { 'data-bounce': 'true' } : {}) }, a.label);
    b.addEventListener('click', () => { pending = { op: a.op, bounce: a.bounce === true }; repaint(); });
    bar.append(b);
  }
  return bar;
}

async function run(id, act) {
  if (busy) return;
  busy = true;
  try {
    const r = await sendJson(`/api/queue/${encodeURIComponent(id)}/${act.op}`, session.csrfToken, act.bounce ? { bounce: true } : {});
    const label = act.bounce ? 'delete and bounce' : act.op;
    note = { text: r.applied ? `${label}: done` : `${label}: requested from the running gateway (applied before its next delivery scan)`, cls: 'note' };
  } catch (err) {
    note = { text: `${act.op} failed: ${err.message}`, cls: 'error' };
  } finally {
    busy = false;
    pending = null;
    await refresh();
  }
}

function renderDetail(r) {
  const m = r.message;
  const rcpts = el('table', { class: 'table', id: 'queue-recipients' },
    el('thead', {}, el('tr', {}, ...['Recipient', 'Status', 'Destination', 'Attempts', 'Next attempt', 'Last remote reply'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...m.recipients.map((x) => el('tr', { 'data-status': x.status },
      el('td', { class: 'addr' }, x.address), el('td', {}, stateBadge(x.status)), el('td', {}, x.destination ?? '—'),
      el('td', { class: 'num' }, String(x.attempts)), el('td', { class: 'when' }, x.nextAttempt == null ? '' : m.held ? 'held' : x.cutoverHold ? 'after the cutover' : when(x.nextAttempt)),
      el('td', { class: 'detail' }, x.lastReply ?? '')))));
  const env = m.envelope;
  const src = [env.source.kind, env.source.ip, env.source.helo && `HELO ${env.source.helo}`, env.source.user && `user ${env.source.user}`].filter(Boolean).join(', ');
  const headers = el('table', { class: 'table headers', id: 'queue-headers' },
    el('tbody', {}, ...r.headers.map((h) => el('tr', {}, el('th', { scope: 'row' }, h.name), el('td', { class: 'detail' }, h.value)))));
  const track = m.messageId ? el('a', { href: `#/tracking/${encodeURIComponent(m.messageId)}` }, 'search tracking for this Message-ID') : '';
  return [
    el('p', {}, el('a', { href: '#/queue' }, '‹ Queue')),
    el('h2', {}, 'Message ', el('span', { class: 'mono', id: 'queue-detail-id' }, m.id), ' ', stateBadge(m.state)),
    actionBar(m),
    el('p', { id: 'queue-note', class: note.cls }, note.text),
    dl([
      ['Received', `${new Date(m.receivedAt).toLocaleString()} (${age(m.ageMs)} ago)`], ['From', env.from || '<> (null sender)'],
      ['Size', size(m.size)], ['Message-ID', m.messageId ?? '—'], ['Source', src],
      ['DSN', [env.ret && `RET=${env.ret}`, env.envid && `ENVID=${env.envid}`, env.isDsn ? 'this is a DSN' : ''].filter(Boolean).join(', ') || '—'],
    ]),
    el('h3', {}, 'Recipients'), rcpts,
    el('h3', {}, 'Tracking ', el('span', { class: 'muted' }, track)), eventsTable(r.events),
    el('h3', {}, 'Headers', r.headersTruncated ? el('span', { class: 'muted' }, ' (truncated)') : ''), headers,
  ];
}

/** A message that has left the queue: what tracking knows of it. */
async function renderGone(id) {
  const { events } = await getJson(`/api/tracking${query({ queueId: id, limit: 500 })}`);
  const last = events.at(-1);
  return [
    el('p', {}, el('a', { href: '#/queue' }, '‹ Queue')),
    el('h2', {}, 'Message ', el('span', { class: 'mono', id: 'queue-detail-id' }, id), ' ', stateBadge('gone')),
    el('p', { id: 'queue-note', class: note.cls }, note.text),
    el('p', { id: 'queue-gone' }, events.length
      ? `This message is no longer in the queue; its last event was "${last.event}" ${ago(last.at)}.`
      : 'No such message in the queue, and no tracking events for this id.'),
    eventsTable(events),
  ];
}

function paint(box, nodes) {
  box.replaceChildren(...nodes);
}

const refreshStarted = newestOnly();

async function refresh() {
  if (!root) return;
  const isNewest = refreshStarted();
  try {
    if (current.id) {
      const box = root.querySelector('#queue-detail');
      const res = await fetch(`/api/queue/${encodeURIComponent(current.id)}`, { credentials: 'same-origin' });
      if (res.status === 401) { window.location.assign('/login'); return; }
      if (!res.ok && res.status !== 404) throw new Error((await res.json().catch(() => ({}))).error ?? `HTTP ${res.status}`);
      // Everything this answer needs is read before the check, so nothing older paints after a newer answer.
      const detail = res.status === 404 ? undefined : await res.json();
      const nodes = detail ? renderDetail(detail) : await renderGone(current.id);
      if (!isNewest()) return;
      if (!detail) pending = null;
      lastDetail = detail ?? null;
      paint(box, nodes);
    } else {
      const r = await getJson(`/api/queue${query({ ...filters(), limit: PAGE_SIZE, offset })}`);
      if (!isNewest()) return;
      renderList(r);
      root.querySelector('#queue-error').hidden = true;
    }
    root.dataset.updated = String(Date.now());
  } catch (err) {
    if (!isNewest()) return;
    if (current.id) root.querySelector('#queue-detail').replaceChildren(el('p', { class: 'error' }, `Could not load the message: ${err.message}`));
    else {
      const box = root.querySelector('#queue-error');
      box.textContent = err.message;
      box.hidden = false;
    }
  }
}

/** Redraws the detail from the last answer (a confirmation step opened or closed) without asking the server. */
function repaint() {
  if (lastDetail) paint(root.querySelector('#queue-detail'), renderDetail(lastDetail));
}

function route(params) {
  const id = params?.[0] || null;
  if (id !== current.id) { pending = null; note = { text: '', cls: 'note' }; lastDetail = null; }
  current = { id };
  root.querySelector('#queue-list').hidden = id !== null;
  root.querySelector('#queue-detail').hidden = id === null;
  if (id) root.querySelector('#queue-detail').replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
}

function startPolling() {
  clearInterval(timer);
  // Not while a confirmation waits for its click: the buttons must stay where they are.
  timer = setInterval(() => { if (!busy && !pending && !document.hidden) void refresh(); }, POLL_MS);
}

export async function mount(container, ctx) {
  root = container;
  session = ctx.session;
  container.replaceChildren(buildList(), el('section', { id: 'queue-detail', hidden: '' }));
  route(ctx.params);
  await refresh();
  startPolling();
}

export async function show(params) {
  route(params);
  await refresh();
  startPolling();
}

export function hide() {
  clearInterval(timer);
  timer = null;
  pending = null;
}
