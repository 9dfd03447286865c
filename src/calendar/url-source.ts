/**
 * A published free/busy URL (`systems.<name>.freebusyUrl`), as Outlook and
 * Exchange publish .vfb files: the template ({address} {local} {domain}) is
 * fetched with GET. A VFREEBUSY is read as published (RFC 5545 3.6.4); a
 * plain published calendar (.ics with VEVENTs) is expanded like CalDAV data.
 */
import { busyFromCalendars, busyFromFreeBusy } from '../protocol/ical/index.js';
import { MbError } from '../core/errors.js';
import { CalendarErrors } from './errors.js';
import { HttpClient, classifyStatus } from './http-client.js';
import { expandTemplate } from './template.js';
import type { FreeBusySource, Person, SourceAnswer, Window } from './types.js';

export interface UrlSourceOptions {
  system: string;
  template: string;
  maxInstances: number;
  tlsInsecure?: boolean;
  maxSockets?: number;
}

export class FreeBusyUrlSource implements FreeBusySource {
  readonly kind = 'freebusy-url';
  readonly system: string;
  readonly #opts: UrlSourceOptions;
  readonly #http: HttpClient;

  constructor(opts: UrlSourceOptions) {
    this.system = opts.system;
    this.#opts = opts;
    this.#http = new HttpClient({ tlsInsecure: opts.tlsInsecure, maxSockets: opts.maxSockets });
  }

  urlFor(person: Person): URL {
    return new URL(expandTemplate(this.#opts.template, person));
  }

  async fetchBusy(person: Person, window: Window, opts: { signal: AbortSignal; deadline: number }): Promise<SourceAnswer> {
    const url = this.urlFor(person);
    const res = await this.#http.request('GET', url, opts.signal, { accept: 'text/calendar, */*;q=0.5' });
    if (res.status !== 200) throw classifyStatus(res.status, `GET ${url.pathname}`);
    const busyOpts = { start: window.start, end: window.end, maxInstances: this.#opts.maxInstances, deadline: opts.deadline };
    if (/^BEGIN:VFREEBUSY\r?$/m.test(res.body)) return { ...busyFromFreeBusy(res.body, busyOpts), method: 'freebusy-url' };
    if (/^BEGIN:VEVENT\r?$/m.test(res.body) || /^BEGIN:VCALENDAR\r?$/m.test(res.body)) return { ...busyFromCalendars([res.body], busyOpts), method: 'freebusy-url' };
    throw new MbError(CalendarErrors.CALENDAR_SOURCE_PROTOCOL, `GET ${url.pathname}: the answer is not iCalendar`);
  }

  close(): void {
    this.#http.close();
  }
}
