/**
 * The free/busy broker: for each attendee, which system holds the calendar
 * (PersonResolver), that system's source, the answer cache, and a per-source
 * timeout, so that one slow or dead system turns into a per-attendee status
 * instead of a failed request.
 */
import { MbError, describeError } from '../core/errors.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import { AnswerCache } from './cache.js';
import { CalendarErrors } from './errors.js';
import { calendarMetrics, type CalendarMetrics } from './metrics.js';
import type { Resolution } from './people.js';
import type { AttendeeFreeBusy, AttendeeStatus, FreeBusyAnswer, FreeBusySource, SourceAnswer, Window } from './types.js';
import { resolveWindow, type WindowLimits } from './window.js';

export interface BrokerOptions extends WindowLimits {
  resolver: { resolve(address: string): Resolution | Promise<Resolution> };
  /** By system name; a system without an entry has no calendar source. */
  sources: ReadonlyMap<string, FreeBusySource>;
  /** Per-source timeout, ms (also the time limit for busy-time computation). */
  timeout: number;
  cacheTtl: number;
  /** How long past cacheTtl a stale answer is served while it is refreshed; default cacheTtl. */
  staleFor?: number;
  maxCacheEntries?: number;
  /** Attendees per request at most (POST /freebusy). */
  maxAttendees?: number;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** Error code of a failed lookup -> attendee status (first match wins). */
const STATUS_BY_CODE: Readonly<Record<string, AttendeeStatus>> = {
  [CalendarErrors.CALENDAR_ADDRESS_INVALID]: 'unknown',
  [CalendarErrors.CALENDAR_ADDRESS_UNKNOWN]: 'unknown',
  [CalendarErrors.CALENDAR_NO_SOURCE]: 'no-source',
  [CalendarErrors.CALENDAR_NOT_FOUND]: 'not-found',
  [CalendarErrors.CALENDAR_SOURCE_TIMEOUT]: 'timeout',
  [CalendarErrors.CALENDAR_SOURCE_UNREACHABLE]: 'unreachable',
  [CalendarErrors.CALENDAR_SOURCE_DENIED]: 'denied',
};

const MAX_NOTES_LOGGED = 10;

function peerMessage(status: AttendeeStatus, system: string | undefined, timeout: number): string {
  const sys = `system ${system ?? '?'}`;
  switch (status) {
    case 'no-source': return `${sys} has no calendar source configured (caldav or freebusyUrl)`;
    case 'not-found': return `${sys} has no calendar for this person`;
    case 'timeout': return `${sys} did not answer within ${timeout / 1000} s`;
    case 'unreachable': return `${sys} could not be reached`;
    case 'denied': return `${sys} refused mailbridge's credentials`;
    default: return `${sys} answered something mailbridge could not use`;
  }
}

export class FreeBusyBroker {
  readonly #o: BrokerOptions;
  readonly #cache: AnswerCache<SourceAnswer>;
  readonly #metrics: CalendarMetrics | undefined;
  readonly #now: () => number;
  readonly maxAttendees: number;

  constructor(opts: BrokerOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.maxAttendees = opts.maxAttendees ?? 100;
    this.#metrics = opts.metrics ? calendarMetrics(opts.metrics.registry) : undefined;
    this.#cache = new AnswerCache<SourceAnswer>({
      ttl: opts.cacheTtl,
      staleFor: opts.staleFor ?? opts.cacheTtl,
      maxEntries: opts.maxCacheEntries ?? 20_000,
      now: this.#now,
      onRefreshError: (key, err) => logEvent(opts.log, 'calendar.refresh.failed', { system: key.split('\n')[0], code: MbError.is(err) ? err.code : undefined, reason: describeError(err) }, undefined, opts.metrics),
    });
  }

  /** The window of a request (throws CALENDAR_WINDOW_INVALID). */
  window(q: { start?: string; end?: string }): Window {
    return resolveWindow(q, this.#o, this.#now());
  }

  /** Which system serves an address (throws CALENDAR_ADDRESS_INVALID when it is not an address). */
  async resolve(address: string): Promise<Resolution> {
    return this.#o.resolver.resolve(address);
  }

  /** Free/busy of several attendees in parallel; never throws for a source's failure. */
  async lookup(addresses: readonly string[], window: Window, log: Logger = this.#o.log): Promise<FreeBusyAnswer> {
    if (addresses.length > this.maxAttendees) {
      throw new MbError(CalendarErrors.CALENDAR_ADDRESS_INVALID, `at most ${this.maxAttendees} attendees per request`);
    }
    const attendees = await Promise.all(addresses.map((a) => this.#one(a, window, log)));
    return { start: window.start, end: window.end, attendees };
  }

  async #one(address: string, window: Window, log: Logger): Promise<AttendeeFreeBusy> {
    const asked = address.trim().toLowerCase();
    let res: Resolution;
    try {
      res = await this.#o.resolver.resolve(address);
    } catch (err) {
      return this.#failed({ address: asked }, err, log, false);
    }
    if (res.kind === 'unknown') {
      return this.#failed({ address: asked }, new MbError(CalendarErrors.CALENDAR_ADDRESS_UNKNOWN, res.reason), log, false);
    }
    const base = { address: asked, system: res.system };
    const source = this.#o.sources.get(res.system);
    if (!source) {
      return this.#failed(base, new MbError(CalendarErrors.CALENDAR_NO_SOURCE, `system ${res.system} has no caldav or freebusyUrl configured`), log, false);
    }
    const key = [res.system, res.person.address, window.start.toISOString(), window.end.toISOString()].join('\n');
    try {
      const { value, state } = await this.#cache.get(key, () => this.#fetch(source, res.person, window, log));
      this.#metrics?.lookups.inc({ status: 'ok', cache: state });
      return {
        ...base, status: 'ok', periods: value.periods, method: value.method, cache: state,
        skipped: value.skipped.length, truncated: value.truncated.length,
      };
    } catch (err) {
      return this.#failed(base, err, log, true);
    }
  }

  async #fetch(source: FreeBusySource, person: { address: string; local: string; domain: string }, window: Window, log: Logger): Promise<SourceAnswer> {
    const t0 = performance.now();
    const signal = AbortSignal.timeout(this.#o.timeout);
    let outcome = 'error';
    try {
      const answer = await source.fetchBusy(person, window, { signal, deadline: this.#now() + this.#o.timeout });
      outcome = 'ok';
      this.#logNotes(source.system, answer, log);
      return answer;
    } catch (err) {
      outcome = MbError.is(err) ? (STATUS_BY_CODE[err.code] ?? 'error') : 'error';
      throw err;
    } finally {
      this.#metrics?.sourceSeconds.observe({ kind: source.kind, outcome }, (performance.now() - t0) / 1000);
    }
  }

  /** Logs why events were skipped or cut short (uid and reason only: never event text). */
  #logNotes(system: string, answer: SourceAnswer, log: Logger): void {
    for (const n of answer.skipped.slice(0, MAX_NOTES_LOGGED)) {
      logEvent(log, 'calendar.event.skipped', { system, uid: n.uid, reason: n.reason, of: answer.skipped.length }, undefined, this.#o.metrics);
    }
    for (const n of answer.truncated.slice(0, MAX_NOTES_LOGGED)) {
      logEvent(log, 'calendar.expansion.truncated', { system, uid: n.uid, reason: n.reason, of: answer.truncated.length }, undefined, this.#o.metrics);
    }
  }

  #failed(base: { address: string; system?: string }, err: unknown, log: Logger, logIt: boolean): AttendeeFreeBusy {
    const code = MbError.is(err) ? err.code : 'CALENDAR_INTERNAL';
    const status = STATUS_BY_CODE[code] ?? 'error';
    // Peers get a message made from the status; the source's own (URLs, socket errors) stays in the log.
    const message = status === 'unknown' && MbError.is(err) ? err.message : peerMessage(status, base.system, this.#o.timeout);
    if (logIt) {
      logEvent(log, 'calendar.lookup.failed', { ...base, status, code, reason: describeError(err) }, undefined, this.#o.metrics);
    }
    this.#metrics?.lookups.inc({ status, cache: 'miss' });
    return { ...base, status, periods: [], skipped: 0, truncated: 0, error: { code, message } };
  }

  close(): void {
    for (const s of this.#o.sources.values()) (s as { close?: () => void }).close?.();
  }
}
