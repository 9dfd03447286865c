// The console's calls to its own API. The CSRF token lives in memory only (from
// GET /api/session); the session itself is an HttpOnly cookie this code never sees.

/** The current session ({ user, csrfToken, expiresAt }) or null when logged out. */
export async function getSession() {
  const res = await fetch('/api/session', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(`session: HTTP ${res.status}`);
  return res.json();
}

/** GET a JSON document; a lost session sends the browser to the login page. */
export async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (res.status === 401) {
    window.location.assign('/login');
    throw new Error('logged out');
  }
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/**
 * GET a JSON document that may legitimately be missing (a detail page): answers
 * { ok, status, body } with the error body kept, so the page can show the
 * server's reason; a lost session sends the browser to the login page.
 */
export async function getDetail(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (res.status === 401) {
    window.location.assign('/login');
    throw new Error('logged out');
  }
  return { ok: res.ok, status: res.status, body: await res.json().catch(() => ({})) };
}

/** A state-changing call: POST with the session's CSRF token and no body. */
export async function action(path, csrfToken) {
  const res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrfToken } });
  if (res.status === 401) {
    window.location.assign('/login');
    throw new Error('logged out');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `${path}: HTTP ${res.status}`);
  return body;
}

/** A state-changing call with a JSON body (POST, or another method); answers the parsed reply. */
export async function sendJson(path, csrfToken, body, method = 'POST') {
  const res = await fetch(path, {
    method, credentials: 'same-origin',
    headers: { 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (res.status === 401) {
    window.location.assign('/login');
    throw new Error('logged out');
  }
  const reply = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(reply.error ?? `${path}: HTTP ${res.status}`);
  return reply;
}

/**
 * For a view filled by requests that can overlap (a search typed twice, a timer
 * and a click): each call starts a request and returns `isNewest()`, which is
 * false once a later request has started, so a slow old answer never overwrites
 * a newer one.
 */
export function newestOnly() {
  let seq = 0;
  return () => {
    const mine = ++seq;
    return () => mine === seq;
  };
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** "12 s ago", "3 min ago", or the local time for anything older than a day. */
export function ago(ms, now = Date.now()) {
  if (ms == null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}

/** An element with text content only: nothing from the server is ever parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
