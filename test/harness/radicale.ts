/**
 * Radicale 3.1 (CalDAV) for the lab: one server on a free loopback port, run as
 * the lab user in the foreground with a generated config under DIR/radicale/.
 *
 * Facts from the installed Radicale 3.1 this relies on:
 * - `--config FILE` replaces the default search path (/etc/radicale/config is
 *   not read): config.parse_compound_paths uses "the last argument that is not
 *   None".
 * - The htpasswd file is read on every login ("the content of the file is not
 *   cached ... useful to get live updates", auth/htpasswd.py), so users can be
 *   appended while the server runs.
 * - A user's principal collection `/<user>/` is created on their first
 *   authenticated request when the rights grant `W` on it (app/__init__.py), so
 *   MKCALENDAR of `/<user>/calendar/` is sent as that user; as admin it would
 *   get 409 because the parent does not exist yet.
 * - Rights letters (DOCUMENTATION "Rights"): R/W read/write plain collections
 *   (root, principals), r/w read/write calendars and address books. The first
 *   matching section wins.
 * - Radicale 3.1 logs to stderr only, so its log file is the captured output.
 *
 * DESIGN.md: 3.1 does not answer free-busy-query REPORT properly; clients use a
 * calendar-query REPORT with a time-range (see calendarQuery).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LAB_HOST, chownTree, freePort, labDir, spawnServer, stopPid, waitForGreeting } from './process.js';
import type { RadicaleInfo, ServerRecord } from './types.js';

/** Debian's interpreter: the `python3` on PATH may be another one without radicale. */
const PYTHON = '/usr/bin/python3';
const ADMIN_USER = 'admin';

export interface CalendarUser { user: string; password: string; calendarUrl: string }
export interface Credentials { user: string; password: string }

export async function startRadicale(dir: string): Promise<{ info: RadicaleInfo; server: ServerRecord }> {
  const home = labDir(join(dir, 'radicale'));
  const storageDir = labDir(join(home, 'collections'), 0o700);
  const port = await freePort();
  const info: RadicaleInfo = {
    url: `http://${LAB_HOST}:${port}/`, port,
    adminUser: ADMIN_USER, adminPassword: newPassword(),
    htpasswdFile: join(home, 'users'), storageDir,
  };
  const config = join(home, 'config');
  const rights = join(home, 'rights');
  writeFileSync(info.htpasswdFile, `${ADMIN_USER}:${info.adminPassword}\n`, { mode: 0o600 });
  writeFileSync(rights, rightsFile());
  writeFileSync(config, radicaleConf(info, rights));
  chownTree(home);
  const logFile = join(home, 'radicale.log');
  const child = spawnServer({
    name: 'radicale', command: PYTHON, args: ['-m', 'radicale', '--config', config], logFile, cwd: home,
  });
  const server: ServerRecord = { name: 'radicale', pid: child.pid, logFile };
  // Ready = an HTTP status line to a real request (any status: OPTIONS needs no auth).
  try {
    await waitForGreeting({
      name: 'radicale', port, pid: child.pid, logFile, expect: /^HTTP\/1\.[01] \d{3} /,
      send: `OPTIONS / HTTP/1.0\r\nHost: ${LAB_HOST}:${port}\r\n\r\n`,
    });
  } catch (err) {
    await stopPid(child.pid);
    throw err;
  }
  return { info, server };
}

function radicaleConf(info: RadicaleInfo, rights: string): string {
  return [
    '[server]', `hosts = ${LAB_HOST}:${info.port}`, '',
    '[auth]', 'type = htpasswd', `htpasswd_filename = ${info.htpasswdFile}`,
    'htpasswd_encryption = plain',
    // The failed-login delay (default 1 s, randomised) only slows the lab's tests.
    'delay = 0', '',
    '[rights]', 'type = from_file', `file = ${rights}`, '',
    '[storage]', `filesystem_folder = ${info.storageDir}`, '',
    '[web]', 'type = none', '',
    '[logging]', 'level = info', 'mask_passwords = True', '',
  ].join('\n');
}

/** admin reads and writes everything; each user their principal and its calendars. */
function rightsFile(): string {
  return [
    '[admin]', `user: ${ADMIN_USER}`, 'collection: .*', 'permissions: RrWw', '',
    '[root]', 'user: .+', 'collection:', 'permissions: R', '',
    '[principal]', 'user: .+', 'collection: {user}', 'permissions: RW', '',
    '[calendars]', 'user: .+', 'collection: {user}/[^/]+', 'permissions: rw', '',
  ].join('\n');
}

function newPassword(): string {
  return randomBytes(12).toString('base64url');
}

export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}`;
}

export function adminCredentials(info: RadicaleInfo): Credentials {
  return { user: info.adminUser, password: info.adminPassword };
}

/** One WebDAV/CalDAV request; Radicale answers every method over plain HTTP/1.1. */
export async function davFetch(url: string, method: string, creds: Credentials, body?: string,
  headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method, body,
    headers: { authorization: basicAuth(creds), ...headers },
  });
}

/** Appends a user to the htpasswd file and creates `/<local>/calendar/` as that user. */
export async function addCalendarUser(info: RadicaleInfo, local: string, password = newPassword()): Promise<CalendarUser> {
  if (!local || /[:\n\r/]/.test(local)) throw new Error(`radicale: invalid user name ${JSON.stringify(local)}`);
  appendFileSync(info.htpasswdFile, `${local}:${password}\n`);
  const calendarUrl = new URL(`${encodeURIComponent(local)}/calendar/`, info.url).href;
  const res = await davFetch(calendarUrl, 'MKCALENDAR', { user: local, password }, mkcalendarBody(local),
    { 'content-type': 'application/xml; charset=utf-8' });
  if (res.status !== 201) throw new Error(`radicale: MKCALENDAR ${calendarUrl} answered ${res.status}: ${await res.text()}`);
  return { user: local, password, calendarUrl };
}

function mkcalendarBody(local: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>${xmlEscape(local)}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>`;
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** PUTs one iCalendar object as `<uid>.ics` (as admin unless told); returns its URL. */
export async function putEvent(info: RadicaleInfo, calendarUrl: string, uid: string, ics: string,
  creds: Credentials = adminCredentials(info)): Promise<string> {
  const url = new URL(`${encodeURIComponent(uid)}.ics`, calendarUrl).href;
  const res = await davFetch(url, 'PUT', creds, ics, { 'content-type': 'text/calendar; charset=utf-8' });
  if (res.status !== 201 && res.status !== 204) {
    throw new Error(`radicale: PUT ${url} answered ${res.status}: ${await res.text()}`);
  }
  return url;
}

/** iCalendar UTC DATE-TIME (RFC 5545 3.3.5 form 2), as CalDAV time-range wants it. */
export function icalUtc(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * calendar-query REPORT (RFC 4791 7.8) for VEVENTs overlapping [start, end);
 * returns the raw multistatus XML and status (207 when Radicale answers).
 */
export async function calendarQuery(calendarUrl: string, creds: Credentials, start: Date, end: Date): Promise<{ status: number; xml: string }> {
  const body = `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="${icalUtc(start)}" end="${icalUtc(end)}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`;
  const res = await davFetch(calendarUrl, 'REPORT', creds, body,
    { 'content-type': 'application/xml; charset=utf-8', depth: '1' });
  return { status: res.status, xml: await res.text() };
}
