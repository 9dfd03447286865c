// The console shell and its overview page: traffic lights per system and
// endpoint, worst first, kept current by server-sent events (GET /api/events)
// without reloading. The other pages live in page-NAME.js modules, loaded when
// first shown (see showPage).
import { action, ago, el, getJson, getSession } from './api.js';

const LABEL = { green: 'ok', red: 'failed', grey: 'unknown' };
let session = null;
let lastOverview = null;
let source = null;

function light(colour, text) {
  return el('span', { class: `light light-${colour}`, 'data-light': colour }, text ?? LABEL[colour]);
}

function renderSummary(o) {
  const box = document.getElementById('summary');
  const red = o.problems.filter((p) => p.light === 'red').length;
  const grey = o.problems.length - red;
  const headline = o.problems.length === 0
    ? 'Every endpoint answered at the last check.'
    : [red ? `${red} problem${red > 1 ? 's' : ''}` : '', grey ? `${grey} unknown` : ''].filter(Boolean).join(', ');
  const list = el('ul', { class: 'problems' });
  for (const p of o.problems) {
    list.append(el('li', { class: `problem problem-${p.light}` },
      light(p.light),
      el('a', { href: p.href ?? `#${p.anchor}` }, `${p.system} ${p.endpoint}`),
      el('span', { class: 'detail' }, p.detail)));
  }
  box.replaceChildren(
    el('p', { class: `headline headline-${o.light}`, 'data-light': o.light, id: 'overall' }, light(o.light), ' ', headline),
    ...(o.problems.length ? [list] : []),
  );
}

function renderSystems(o) {
  const cards = o.systems.map((s) => {
    const rows = s.endpoints.map((e) => el('tr', { id: `ep-${s.name}-${e.endpoint}`.replace(/[^A-Za-z0-9_-]/g, '_'), class: 'endpoint', 'data-system': s.name, 'data-endpoint': e.endpoint, 'data-light': e.light },
      el('td', {}, light(e.light)),
      el('th', { scope: 'row' }, e.endpoint),
      el('td', { class: 'detail' }, e.detail),
      el('td', { class: 'num' }, e.latencyMs == null ? '' : `${e.latencyMs} ms`),
      el('td', { class: 'when', 'data-at': e.checkedAt ?? '' }, ago(e.checkedAt))));
    return el('article', { class: `card card-${s.light}`, 'data-system': s.name, 'data-light': s.light },
      el('h3', {}, light(s.light, ''), ' ', s.name),
      el('table', { class: 'table' }, el('tbody', {}, ...rows)));
  });
  document.getElementById('systems').replaceChildren(...cards);
}

function age(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(2)} GiB`;
}

/** Per destination: recipients waiting and the oldest one's age. */
function queueTable(rows) {
  if (!rows.length) return el('p', { class: 'muted', id: 'queue-empty' }, 'No message waiting.');
  return el('table', { class: 'table', id: 'queue-figures' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Destination'), el('th', { class: 'num' }, 'Msgs'), el('th', { class: 'num' }, 'Rcpts'), el('th', { class: 'num' }, 'Oldest'))),
    el('tbody', {}, ...rows.map((q) => el('tr', { 'data-destination': q.destination },
      el('th', { scope: 'row' }, q.destination), el('td', { class: 'num' }, q.messages), el('td', { class: 'num', 'data-recipients': q.recipients }, q.recipients),
      el('td', { class: 'num' }, age(q.oldestAgeMs))))));
}

function migrationFigures(p) {
  const states = Object.entries(p.users);
  const done = ['synced', 'verified', 'cutover'].reduce((n, k) => n + (p.users[k] ?? 0), 0);
  const parts = [
    el('p', { id: 'migration-copied' }, `${p.messagesCopied} messages, ${bytes(p.bytesCopied)} copied`),
  ];
  if (p.totalUsers) {
    parts.push(el('progress', { max: p.totalUsers, value: done, 'aria-label': 'users migrated' }),
      el('span', { class: 'muted' }, ` ${done} of ${p.totalUsers} users`));
  }
  if (states.length) parts.push(el('ul', { class: 'states', id: 'migration-states' }, ...states.map(([k, v]) => el('li', { 'data-state': k }, `${k}: ${v}`))));
  parts.push(el('p', { class: 'muted' }, p.etaMs == null ? 'ETA: not enough passes yet to estimate' : p.etaMs === 0 ? 'every user has had a first pass' : `ETA for the first passes: ${age(p.etaMs)}`));
  return parts;
}

function renderSubsystem(id, view) {
  const panel = document.getElementById(id);
  const title = panel.querySelector('h2').textContent;
  if (!view.available) {
    panel.replaceChildren(el('h2', {}, title), el('p', { class: 'muted', 'data-available': 'false' }, view.note));
    panel.dataset.light = 'grey';
    return;
  }
  const heading = el('h2', {}, view.link ? el('a', { href: view.link }, title) : title);
  const body = [el('p', { class: 'summary-line' }, light(view.light), ' ', view.summary, view.run ? el('span', { class: 'muted' }, ` (${ago(view.run.finishedAt ?? view.run.startedAt)})`) : '')];
  if (view.queue) body.push(queueTable(view.queue));
  if (view.conflicts !== undefined) body.push(el('p', { id: 'directory-conflicts', class: view.conflicts ? 'warn' : 'muted' }, `${view.conflicts} open conflict${view.conflicts === 1 ? '' : 's'}`));
  if (view.progress) body.push(...migrationFigures(view.progress));
  panel.dataset.light = view.light;
  panel.replaceChildren(heading, ...body);
}

function render(o) {
  lastOverview = o;
  document.getElementById('org').textContent = o.organization;
  renderSummary(o);
  renderSystems(o);
  renderSubsystem('sub-gateway', o.subsystems.gateway);
  renderSubsystem('sub-directory', o.subsystems.directory);
  renderSubsystem('sub-migration', o.subsystems.migration);
  setLive('live', `updated ${new Date(o.generatedAt).toLocaleTimeString()}`);
}

function setLive(state, text) {
  const live = document.getElementById('live');
  live.className = `live live-${state}`;
  live.textContent = text;
}

async function renderAudit() {
  const { entries } = await getJson('/api/audit?limit=15');
  const rows = entries.map((a) => el('tr', {},
    el('td', { class: 'when' }, ago(a.at)), el('td', {}, a.actor), el('td', {}, a.action), el('td', { class: 'muted' }, a.details?.ip ?? '')));
  document.querySelector('#audit tbody').replaceChildren(...rows);
}

function connect() {
  source?.close();
  source = new EventSource('/api/events');
  source.addEventListener('overview', (e) => render(JSON.parse(e.data)));
  source.addEventListener('logout', () => window.location.assign('/login'));
  source.addEventListener('error', () => {
    setLive('down', 'reconnecting…');
    // EventSource retries by itself, except after an answer that is not a stream
    // (a 401 once the session has ended): then ask whether we are still logged in.
    if (source.readyState === EventSource.CLOSED) {
      void getSession().then((s) => (s ? setTimeout(connect, 3000) : window.location.assign('/login')), () => setTimeout(connect, 3000));
    }
  });
}

async function recheck() {
  const button = document.getElementById('recheck');
  button.disabled = true;
  button.textContent = 'Checking…';
  try {
    const r = await action('/api/checks/run', session.csrfToken);
    button.textContent = `Checked ${r.endpoints} in ${(r.durationMs / 1000).toFixed(1)} s`;
    render(await getJson('/api/overview'));
    await renderAudit();
  } catch (err) {
    button.textContent = `Check failed: ${err.message}`;
  } finally {
    button.disabled = false;
    setTimeout(() => { button.textContent = 'Check now'; }, 4000);
  }
}

async function logout() {
  try {
    await action('/api/logout', session.csrfToken);
  } finally {
    window.location.assign('/login');
  }
}

const PAGES = ['overview', 'queue', 'tracking', 'directory', 'migration', 'freebusy', 'charts'];
const mounted = new Map();

/**
 * Shows the page named by the location hash (#/queue, #/queue/ID, ...). A page
 * module exports mount(container, { session, params }) and, optionally,
 * show(params) for a later visit and hide(); the shell never looks inside.
 */
async function showPage() {
  const [name = 'overview', ...params] = window.location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = PAGES.includes(name) ? name : 'overview';
  for (const p of PAGES) {
    const box = document.getElementById(`page-${p}`);
    if (box) box.hidden = p !== page;
    document.querySelector(`nav a[data-page="${p}"]`)?.classList.toggle('active', p === page);
  }
  document.title = `${page === 'freebusy' ? 'Free/busy' : page[0].toUpperCase() + page.slice(1)} · mailbridge`;
  for (const [p, mod] of mounted) if (p !== page) mod.hide?.();
  if (page === 'overview') return;
  const box = document.getElementById(`page-${page}`);
  try {
    if (!mounted.has(page)) {
      const mod = await import(`/assets/page-${page}.js`);
      mounted.set(page, mod);
      await mod.mount(box, { session, params });
    } else {
      await mounted.get(page).show?.(params);
    }
  } catch (err) {
    box.replaceChildren(el('p', { class: 'error' }, `This page could not be loaded: ${err.message}`));
  }
}

async function main() {
  session = await getSession();
  if (!session) {
    window.location.assign('/login');
    return;
  }
  document.getElementById('user').textContent = session.user;
  document.getElementById('recheck').addEventListener('click', () => void recheck());
  document.getElementById('logout').addEventListener('click', () => void logout());
  render(await getJson('/api/overview'));
  await renderAudit();
  connect();
  window.addEventListener('hashchange', () => void showPage());
  await showPage();
  // Keep the "… ago" columns honest between updates.
  setInterval(() => { if (lastOverview) renderSystems(lastOverview); }, 10_000);
}

void main();
