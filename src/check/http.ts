/**
 * CalDAV and free/busy URL checks over Node's fetch.
 *
 * CalDAV: OPTIONS on the url must list "calendar-access" in its DAV header
 * (RFC 4791 section 5.1), then PROPFIND Depth 0 with the configured Basic
 * credentials must answer 207 Multi-Status (RFC 4918 section 9.1); 401 is bad
 * credentials.
 *
 * freebusyUrl is a template ({address} {local} {domain}) that needs a real
 * person to give a real answer, and the check knows nobody. It fetches the URL
 * for a placeholder address on a reserved domain (RFC 2606) and proves that the
 * server is reachable and answers HTTP: any status below 500 passes (404 for the
 * placeholder is the expected answer), except 401/403, because the template
 * cannot carry credentials, so a server that asks for them cannot be used.
 * 5xx and connection failures fail.
 */
import { remoteAnswer, checkFailure } from './errors.js';
import type { Probe } from './probe.js';
import type { CheckTarget } from './types.js';

type CaldavConfig = NonNullable<CheckTarget['caldav']>;

export const PLACEHOLDER_ADDRESS = 'mailbridge-check@example.invalid';

const PROPFIND_BODY = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/><d:resourcetype/></d:prop></d:propfind>`;

/** The URL without user:password@, as it may be shown. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

export async function checkCaldav(p: Probe, cfg: CaldavConfig): Promise<string> {
  const headers: Record<string, string> = {};
  if (cfg.user !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${cfg.user}:${cfg.password?.reveal() ?? ''}`).toString('base64')}`;
  }
  p.step('the OPTIONS answer');
  const opt = await fetch(cfg.url, { method: 'OPTIONS', headers, signal: p.signal });
  await opt.body?.cancel();
  if (!opt.ok) throw httpAnswer('OPTIONS', opt, cfg.url);
  const classes = (opt.headers.get('dav') ?? '').split(',').map((c) => c.trim()).filter(Boolean);
  p.details.davClasses = classes;
  if (!classes.includes('calendar-access')) {
    throw checkFailure('CHECK_PROTOCOL', `not a CalDAV server: the DAV header of OPTIONS lacks calendar-access (DAV: ${classes.join(', ') || 'none'})`);
  }

  p.step('the PROPFIND answer');
  const pf = await fetch(cfg.url, {
    method: 'PROPFIND',
    headers: { ...headers, depth: '0', 'content-type': 'application/xml; charset=utf-8' },
    body: PROPFIND_BODY,
    signal: p.signal,
  });
  const xml = await pf.text();
  if (pf.status !== 207) throw httpAnswer('PROPFIND', pf, cfg.url);
  const principal = /<(?:[\w-]+:)?current-user-principal[^>]*>\s*<(?:[\w-]+:)?href[^>]*>([^<]*)</i.exec(xml)?.[1];
  if (principal) p.details.principal = principal;
  const who = cfg.user !== undefined ? ` as ${cfg.user}` : ' (no credentials)';
  return `DAV ${classes.join(', ')}; PROPFIND 207${who}${principal ? ` (principal ${principal})` : ''}`;
}

export function expandFreebusyUrl(template: string, address: string): string {
  const at = address.lastIndexOf('@');
  const enc = encodeURIComponent;
  return template
    .replaceAll('{address}', enc(address))
    .replaceAll('{local}', enc(address.slice(0, at)))
    .replaceAll('{domain}', enc(address.slice(at + 1)));
}

export async function checkFreebusy(p: Probe, template: string): Promise<string> {
  const url = expandFreebusyUrl(template, PLACEHOLDER_ADDRESS);
  p.details.probedUrl = displayUrl(url);
  p.step('the GET answer');
  const res = await fetch(url, { method: 'GET', signal: p.signal, redirect: 'manual' });
  await res.body?.cancel();
  p.details.status = res.status;
  if (res.status >= 500 || res.status === 401 || res.status === 403) throw httpAnswer('GET', res, url);
  const placeholder = /\{(address|local|domain)\}/.test(template) ? '' : '; note: the URL has no {address}, {local} or {domain} placeholder';
  return `HTTP ${res.status} ${res.statusText} for placeholder ${PLACEHOLDER_ADDRESS} (server reachable)${placeholder}`;
}

function httpAnswer(step: string, res: Response, url: string): Error {
  return remoteAnswer({ protocol: 'http', step, status: res.status, text: res.statusText, subject: displayUrl(url) });
}
