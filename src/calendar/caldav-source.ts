/**
 * The CalDAV source of a system (`systems.<name>.caldav`).
 *
 * 1. Discovery: PROPFIND Depth 1 on the person's calendar home (the `home`
 *    template under `url`) lists its collections; calendars are those whose
 *    resourcetype holds C:calendar (RFC 4791 4.2) and whose component set,
 *    when given, holds VEVENT (5.2.3). Calendars marked
 *    schedule-calendar-transp: transparent (RFC 6638 9.1) do not count for
 *    free/busy. The list is cached per home for `discoveryTtl`.
 * 2. Per calendar: the free-busy-query REPORT (RFC 4791 7.10) only when the
 *    calendar lists it in DAV:supported-report-set (RFC 3253 3.1.5); otherwise
 *    a calendar-query REPORT (7.8) with a VEVENT time-range, and busy time is
 *    computed here (Radicale 3.1 lists only calendar-query and calendar-multiget
 *    and answers free-busy-query with every item, ignoring the range).
 * 3. Floating times and all-day dates are read in the calendar's own zone
 *    (C:calendar-timezone, RFC 4791 5.2.2) when it has one, else UTC.
 */
import { busyFromCalendars, busyFromFreeBusy, mergePeriods, windowsZoneToIana, type BusyNote, type BusyPeriod } from '../protocol/ical/index.js';
import type { Secret } from '../core/secret.js';
import { CALDAV_NS, DAV_NS, child, parseMultistatus, type DavResponse } from './dav-xml.js';
import { HttpClient, classifyStatus } from './http-client.js';
import { expandTemplate } from './template.js';
import type { FreeBusySource, Person, SourceAnswer, SourceMethod, Window } from './types.js';

export interface CaldavSourceOptions {
  system: string;
  url: string;
  user?: string;
  password?: Secret;
  /** Path template under url: {address} {local} {domain}. */
  home: string;
  tlsInsecure?: boolean;
  maxInstances: number;
  /** How long the list of a person's calendars is reused, ms (0: never). */
  discoveryTtl: number;
  maxSockets?: number;
  now?: () => number;
}

/** One calendar collection of a person. */
export interface CalendarInfo {
  url: string;
  freeBusyQuery: boolean;
  /** IANA zone for floating times, from C:calendar-timezone. */
  zone?: string;
}

const XML_HEADERS = { 'content-type': 'application/xml; charset=utf-8' };

const PROPFIND_BODY = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:resourcetype/><D:supported-report-set/><C:supported-calendar-component-set/><C:calendar-timezone/><C:schedule-calendar-transp/></D:prop>
</D:propfind>`;

/** RFC 5545 3.3.5 form 2, as CalDAV time-range wants it. */
export function icalUtc(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function calendarQueryBody(w: Window): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="${icalUtc(w.start)}" end="${icalUtc(w.end)}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`;
}

function freeBusyQueryBody(w: Window): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="${icalUtc(w.start)}" end="${icalUtc(w.end)}"/>
</C:free-busy-query>`;
}

/** The zone a VTIMEZONE text names (IANA or Windows name), if it is one we know. */
export function zoneOfVtimezone(text: string): string | undefined {
  const tzid = /^TZID[^:\r\n]*:(.+)$/m.exec(text.replace(/\r?\n[ \t]/g, ''))?.[1]?.trim();
  if (!tzid) return undefined;
  const name = windowsZoneToIana(tzid) ?? tzid;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return name;
  } catch {
    return undefined;
  }
}

/** Calendars among the collections of a PROPFIND Depth 1 answer on a home. */
export function calendarsOf(responses: DavResponse[], base: string): CalendarInfo[] {
  const out: CalendarInfo[] = [];
  for (const r of responses) {
    const prop = (name: string, ns = DAV_NS) => r.props.find((p) => p.ns === ns && p.name === name);
    if (!child(prop('resourcetype'), CALDAV_NS, 'calendar')) continue;
    const comps = prop('supported-calendar-component-set', CALDAV_NS);
    if (comps && comps.children.length && !comps.children.some((c) => c.name === 'comp' && /^(VEVENT|VFREEBUSY)$/i.test(c.attrs.name ?? ''))) continue;
    if (child(prop('schedule-calendar-transp', CALDAV_NS), CALDAV_NS, 'transparent')) continue;
    const reports = prop('supported-report-set');
    const freeBusyQuery = !!reports?.children.some((sr) => sr.children.some((rep) => child(rep, CALDAV_NS, 'free-busy-query')));
    const tz = prop('calendar-timezone', CALDAV_NS)?.text;
    const zone = tz ? zoneOfVtimezone(tz) : undefined;
    out.push({ url: new URL(r.href, base).href, freeBusyQuery, ...(zone ? { zone } : {}) });
  }
  return out;
}

export class CaldavSource implements FreeBusySource {
  readonly kind = 'caldav';
  readonly system: string;
  readonly #opts: CaldavSourceOptions;
  readonly #http: HttpClient;
  readonly #base: string;
  readonly #discovered = new Map<string, { at: number; calendars: CalendarInfo[] }>();
  readonly #now: () => number;

  constructor(opts: CaldavSourceOptions) {
    this.system = opts.system;
    this.#opts = opts;
    this.#base = opts.url.endsWith('/') ? opts.url : `${opts.url}/`;
    this.#now = opts.now ?? Date.now;
    this.#http = new HttpClient({ user: opts.user, password: opts.password, tlsInsecure: opts.tlsInsecure, maxSockets: opts.maxSockets });
  }

  homeUrl(person: Person): URL {
    return new URL(expandTemplate(this.#opts.home, person), this.#base);
  }

  async fetchBusy(person: Person, window: Window, opts: { signal: AbortSignal; deadline: number }): Promise<SourceAnswer> {
    const home = this.homeUrl(person);
    const calendars = await this.calendars(home, opts.signal);
    try {
      const parts = await Promise.all(calendars.map((c) => this.#busyOf(c, window, opts)));
      const methods = new Set(parts.map((p) => p.method));
      return {
        periods: mergePeriods(parts.flatMap((p) => p.periods)),
        method: methods.has('calendar-query') || methods.size === 0 ? 'calendar-query' : 'free-busy-query',
        skipped: parts.flatMap((p) => p.skipped),
        truncated: parts.flatMap((p) => p.truncated),
      };
    } catch (err) {
      // A calendar may have been deleted or moved since discovery: look again next time.
      this.#discovered.delete(home.href);
      throw err;
    }
  }

  /** The person's calendars (cached per home for discoveryTtl). */
  async calendars(home: URL, signal: AbortSignal): Promise<CalendarInfo[]> {
    const hit = this.#discovered.get(home.href);
    if (hit && this.#now() - hit.at < this.#opts.discoveryTtl) return hit.calendars;
    const res = await this.#http.request('PROPFIND', home, signal, { ...XML_HEADERS, depth: '1' }, PROPFIND_BODY);
    if (res.status !== 207) throw classifyStatus(res.status, `PROPFIND ${home.pathname}`);
    const calendars = calendarsOf(parseMultistatus(res.body), home.href);
    if (this.#opts.discoveryTtl > 0) this.#discovered.set(home.href, { at: this.#now(), calendars });
    return calendars;
  }

  async #busyOf(cal: CalendarInfo, window: Window, opts: { signal: AbortSignal; deadline: number }): Promise<{ periods: BusyPeriod[]; method: SourceMethod; skipped: BusyNote[]; truncated: BusyNote[] }> {
    const url = new URL(cal.url);
    const busyOpts = { start: window.start, end: window.end, maxInstances: this.#opts.maxInstances, deadline: opts.deadline, floatingZone: cal.zone ?? 'UTC' };
    if (cal.freeBusyQuery) {
      const res = await this.#http.request('REPORT', url, opts.signal, { ...XML_HEADERS, depth: '1' }, freeBusyQueryBody(window));
      if (res.status !== 200) throw classifyStatus(res.status, `REPORT free-busy-query ${url.pathname}`);
      return { ...busyFromFreeBusy(res.body, busyOpts), method: 'free-busy-query' };
    }
    const res = await this.#http.request('REPORT', url, opts.signal, { ...XML_HEADERS, depth: '1' }, calendarQueryBody(window));
    if (res.status !== 207) throw classifyStatus(res.status, `REPORT calendar-query ${url.pathname}`);
    const texts: string[] = [];
    const skipped: BusyNote[] = [];
    for (const r of parseMultistatus(res.body)) {
      const data = r.props.find((p) => p.ns === CALDAV_NS && p.name === 'calendar-data');
      if (data) texts.push(data.text);
      else skipped.push({ reason: `no calendar-data for ${r.href.slice(-80)} (status ${r.status ?? 'missing'})` });
    }
    const busy = busyFromCalendars(texts, busyOpts);
    return { ...busy, skipped: [...skipped, ...busy.skipped], method: 'calendar-query' };
  }

  close(): void {
    this.#http.close();
  }
}
