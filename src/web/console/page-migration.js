// The Migration page: every user with state, a progress bar, last pass, counts
// and errors (#/migration); one user's folders, refused messages with the
// target's answer, verify outcome and cutover record (#/migration/ADDRESS); the
// throughput of the last 24 h as a chart. Refreshes every 10 s while shown.
import { ago, el, getDetail, getJson, query } from './api.js';
import { formatBytes, formatCount, timeChart } from './chart.js';

const POLL_MS = 10_000;
const BUCKET_MS = 15 * 60_000;
let root = null;
let timer = null;
let current = null;

const text = (v) => (v == null || v === '' ? '–' : String(v));
const badge = (state) => el('span', { class: `badge badge-${state}`, 'data-state': state }, state);

function bar(progress) {
  // <progress> without a value is the indeterminate bar: a pass running with no known total.
  const p = el('progress', { max: 1, class: 'mig-progress', 'data-progress': progress == null ? '' : progress.toFixed(3) });
  if (progress != null) p.value = progress;
  return el('span', { class: 'mig-bar' }, p, ' ', el('span', { class: 'muted' }, progress == null ? '…' : `${Math.round(progress * 100)}%`));
}

function buildShell() {
  root.replaceChildren(
    el('h2', { id: 'mig-heading' }, 'Migration'),
    el('p', { id: 'mig-totals', class: 'muted' }, 'Loading…'),
    el('section', { id: 'mig-detail', class: 'mig-detail', hidden: '' }),
    el('table', { class: 'table', id: 'mig-users' },
      el('thead', {}, el('tr', {}, ...['User', 'State', 'Progress', 'Passes', 'Last pass', 'Copied', 'Refused', 'Error'].map((h) => el('th', {}, h)))),
      el('tbody', {})),
    el('h2', {}, 'Throughput'),
    el('div', { id: 'mig-throughput' }));
}

async function loadList() {
  const r = await getJson('/api/migration/users');
  const t = r.totals;
  root.querySelector('#mig-heading').textContent = r.from && r.to ? `Migration ${r.from} → ${r.to}` : 'Migration';
  root.querySelector('#mig-totals').textContent = t.users === 0
    ? 'No migration pass has run yet.'
    : `${t.users} user${t.users === 1 ? '' : 's'} (${Object.entries(t.byState).map(([s, n]) => `${n} ${s}`).join(', ')}); ${t.copied} messages, ${formatBytes(t.copiedBytes)} copied; ${t.refused} refused`;
  const rows = r.users.map((u) => el('tr', { 'data-address': u.address, 'data-state': u.state },
    el('td', { class: 'addr' }, el('a', { href: `#/migration/${encodeURIComponent(u.address)}` }, u.address)),
    el('td', {}, badge(u.state)),
    el('td', {}, bar(u.progress)),
    el('td', { class: 'num' }, u.passes),
    el('td', { class: 'when' }, u.lastPass ? ago(u.lastPass) : 'never'),
    el('td', { class: 'num' }, `${u.copied} (${formatBytes(u.copiedBytes)})`),
    el('td', { class: 'num' }, u.refused),
    el('td', { class: 'error' }, u.error ?? '')));
  root.querySelector('#mig-users tbody').replaceChildren(...rows);
}

async function loadThroughput() {
  const now = Date.now();
  const from = now - 24 * 3_600_000;
  const r = await getJson(`/api/migration/throughput${query({ since: from, bucket: '15m' })}`);
  root.querySelector('#mig-throughput').replaceChildren(
    timeChart({ title: 'Messages copied per 15 min (last 24 h)', from, to: now, bars: { name: 'messages', widthMs: BUCKET_MS, points: r.points.map((p) => [p.at, p.messages]) }, format: formatCount, empty: 'nothing copied in the last 24 h' }),
    timeChart({ title: 'Bytes copied per 15 min (last 24 h)', from, to: now, bars: { name: 'bytes', widthMs: BUCKET_MS, points: r.points.map((p) => [p.at, p.bytes]) }, format: formatBytes, empty: 'nothing copied in the last 24 h' }));
}

function facts(pairs) {
  const dl = el('dl', { class: 'facts' });
  for (const [k, v] of pairs) dl.append(el('dt', {}, k), el('dd', {}, v instanceof Node ? v : text(v)));
  return dl;
}

function table(id, heads, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'muted', id: `${id}-empty` }, empty);
  return el('table', { class: 'table', id }, el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
}

function cutoverPart(c) {
  if (!c) return el('p', { class: 'muted', id: 'mig-cutover-none' }, 'Not cut over.');
  const when = (v) => (v == null ? '–' : new Date(Number(v)).toLocaleString());
  const parts = [];
  if (c.user) parts.push(facts([['State', c.user.state], ['From → to', `${c.user.fromSystem} → ${c.user.toSystem}`], ['Cut over', when(c.user.cutOverAt)]]));
  parts.push(table('mig-cutover', ['Kind', 'Status', 'Started', 'Finished', 'Mail held', 'Error'], c.records.map((r) => el('tr', {},
    el('td', {}, r.kind), el('td', {}, badge(String(r.status))), el('td', { class: 'when' }, when(r.startedAt)), el('td', { class: 'when' }, when(r.finishedAt)),
    el('td', { class: 'num' }, r.heldMs == null ? '–' : `${(Number(r.heldMs) / 1000).toFixed(1)} s`), el('td', { class: 'error' }, r.error ?? ''))), 'No cutover attempts.'));
  return el('div', { id: 'mig-cutover-box' }, ...parts);
}

async function loadDetail(address) {
  const box = root.querySelector('#mig-detail');
  box.hidden = false;
  const { ok, status, body: r } = await getDetail(`/api/migration/users/${encodeURIComponent(address)}`);
  const close = el('a', { href: '#/migration', class: 'quiet' }, 'back to all users');
  if (!ok) {
    box.replaceChildren(el('h3', {}, address, ' ', close), el('p', { class: 'error', id: 'mig-detail-error' }, r.error ?? `HTTP ${status}`));
    return;
  }
  const u = r.user;
  const c = u.counts;
  box.replaceChildren(
    el('h3', { id: 'mig-detail-title', 'data-address': u.address }, u.address, ' ', close),
    facts([
      ['State', badge(u.state)], ['Progress', bar(u.progress)], ['Passes', u.passes],
      ['Last pass', u.lastPass ? `${new Date(u.lastPass).toLocaleString()} (${ago(u.lastPass)})` : 'never'],
      ['Last pass counts', c.seen == null ? '–' : `${c.seen} seen, ${c.appended ?? 0} appended (${formatBytes(c.appendedBytes ?? 0)}), ${c.matched ?? 0} found on the target, ${c.flagsUpdated ?? 0} flag updates, ${c.refused ?? 0} refused`],
      ['Copied in total', `${u.copied} messages, ${formatBytes(u.copiedBytes)}`],
      ['Verify', verifyPart(r.verify)],
      ['Error', u.error ? el('span', { class: 'error' }, u.error) : '–'],
    ]),
    el('h4', {}, 'Folders'),
    table('mig-folders', ['Source', 'Target', 'UIDVALIDITY', 'Highest UID done', 'Copied', 'Refused', 'Updated'], r.folders.map((f) => el('tr', { 'data-folder': f.sourceFolder },
      el('td', { class: 'mono' }, f.sourceFolder), el('td', { class: 'mono' }, f.targetFolder), el('td', { class: 'num' }, f.uidValidity),
      el('td', { class: 'num' }, f.highestUid), el('td', { class: 'num' }, f.messages.done ?? 0), el('td', { class: 'num' }, f.messages.refused ?? 0),
      el('td', { class: 'when' }, ago(f.updatedAt)))), 'No folder copied yet.'),
    el('h4', {}, 'Messages the target refused'),
    table('mig-refusals', ['Folder', 'Source UID', 'Size', "Server's answer"], r.refusals.map((x) => el('tr', {},
      el('td', { class: 'mono' }, x.folder), el('td', { class: 'num' }, x.uid), el('td', { class: 'num' }, formatBytes(x.size)), el('td', { class: 'mono detail' }, text(x.reason)))),
    'None refused.'),
    el('h4', {}, 'Cutover'),
    cutoverPart(r.cutover));
}

/** The last verify: passed, or failed with its first differences (as `migrate verify` recorded them). */
function verifyPart(v) {
  const headline = v.ok === true ? `passed ${ago(v.at)}` : v.ok === false ? `failed ${ago(v.at)}: ${v.note}` : v.note;
  const first = v.ok === false && Array.isArray(v.details?.first) ? v.details.first : [];
  return el('div', { id: 'mig-verify', 'data-ok': String(v.ok) },
    el('span', v.ok === false ? { class: 'error' } : {}, headline),
    ...(first.length ? [el('ul', { class: 'mig-differences' }, ...first.map((d) => el('li', { class: 'mono' },
      `${d.kind} ${d.folder}${d.sourceUid ? ` source uid ${d.sourceUid}` : ''}${d.targetUid ? ` target uid ${d.targetUid}` : ''}: ${d.detail}`)))] : []));
}

async function refresh() {
  try {
    await Promise.all([loadList(), current ? loadDetail(current) : Promise.resolve(), loadThroughput()]);
  } catch (err) {
    root.querySelector('#mig-totals').textContent = `Could not refresh: ${err.message}`;
  }
}

function poll() {
  clearInterval(timer);
  timer = setInterval(() => void refresh(), POLL_MS);
}

export async function mount(container, { params }) {
  root = container;
  buildShell();
  await show(params);
}

export async function show(params = []) {
  current = params[0] ?? null;
  if (!current) root.querySelector('#mig-detail').hidden = true;
  await refresh();
  poll();
}

export function hide() {
  clearInterval(timer);
  timer = null;
}
