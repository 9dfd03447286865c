/**
 * The free/busy endpoint (issue 6, DESIGN.md HTTP contract):
 *
 * - GET /freebusy/{address}?start=ISO&end=ISO: one VFREEBUSY (text/calendar),
 *   or JSON with `Accept: application/json`. Without start/end the default
 *   window applies, so Outlook's Internet free/busy search path
 *   `http://host/freebusy/%NAME%@%SERVER%` (optionally with .vfb) works as is.
 * - POST /freebusy {"attendees": [...], "start", "end"}: all attendees in one
 *   answer, looked up in parallel; JSON, or iCalendar when asked for.
 *
 * A source that fails is a per-attendee status in a 200 answer; only the
 * request itself can be wrong (400: window or body; 404: the one address of a
 * GET is nobody's). Access: see freebusy-access.ts.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MbError } from '../core/errors.js';
import { CalendarErrors, answerJson, attendeeJson, formatAnswerIcs, type FreeBusyBroker, type Window } from '../calendar/index.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import { createAccessCheck, type FreeBusyAccessConfig } from './freebusy-access.js';

export interface FreeBusyRouteDeps {
  broker: FreeBusyBroker;
  access?: FreeBusyAccessConfig;
  metrics?: Metrics;
  now?: () => number;
  /** A logged-in console administrator may always look up free/busy (issue 6). */
  loggedIn?: (req: FastifyRequest) => boolean;
}

const ICS = 'text/calendar; charset=utf-8';

/** True when the client prefers JSON over iCalendar; with neither named, `fallback`. */
export function wantsJson(accept: string | undefined, fallback: boolean): boolean {
  const types = (accept ?? '').split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  const json = types.findIndex((t) => t === 'application/json');
  const cal = types.findIndex((t) => t === 'text/calendar');
  if (json >= 0 && (cal < 0 || json < cal)) return true;
  if (cal >= 0) return false;
  return fallback;
}

function badRequest(reply: FastifyReply, err: unknown): FastifyReply | undefined {
  if (MbError.is(err, CalendarErrors.CALENDAR_WINDOW_INVALID) || MbError.is(err, CalendarErrors.CALENDAR_ADDRESS_INVALID)) {
    return reply.code(400).send({ error: err.message, code: err.code });
  }
  return undefined;
}

function queryWindow(broker: FreeBusyBroker, q: unknown): Window {
  const query = (q ?? {}) as Record<string, unknown>;
  const pick = (name: 'start' | 'end'): string | undefined => {
    const v = query[name];
    if (v === undefined || typeof v === 'string') return v;
    throw new MbError(CalendarErrors.CALENDAR_WINDOW_INVALID, `${name} must be given once, as one ISO 8601 value`);
  };
  return broker.window({ start: pick('start'), end: pick('end') });
}

/** The server is built with a pino loggerInstance (server.ts), so each request's logger is a pino child with reqId. */
function reqLog(req: FastifyRequest): Logger {
  return req.log as unknown as Logger;
}

/** The attendees and window of a POST body (throws CALENDAR_ADDRESS_INVALID / CALENDAR_WINDOW_INVALID). */
function postRequest(broker: FreeBusyBroker, input: unknown): { attendees: string[]; window: Window } {
  const body = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const raw = typeof body.attendees === 'string' ? [body.attendees] : body.attendees;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((a) => typeof a === 'string')) {
    throw new MbError(CalendarErrors.CALENDAR_ADDRESS_INVALID, 'the body must be JSON with "attendees": a non-empty list of addresses');
  }
  if (raw.length > broker.maxAttendees) {
    throw new MbError(CalendarErrors.CALENDAR_ADDRESS_INVALID, `at most ${broker.maxAttendees} attendees per request`);
  }
  for (const k of ['start', 'end'] as const) {
    if (body[k] !== undefined && typeof body[k] !== 'string') throw new MbError(CalendarErrors.CALENDAR_WINDOW_INVALID, `${k} must be an ISO 8601 string`);
  }
  return { attendees: raw as string[], window: broker.window({ start: body.start as string | undefined, end: body.end as string | undefined }) };
}

/** Outlook publishes and looks up "<address>.vfb"; some clients add ".ics". */
function addressOf(param: string): string {
  return param.replace(/\.(vfb|ics)$/i, '');
}

type App<L extends FastifyBaseLogger> = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>;

export function registerFreeBusyRoutes<L extends FastifyBaseLogger>(app: App<L>, deps: FreeBusyRouteDeps): void {
  // Encapsulated, so that a malformed body gets its 4xx here and not the app's generic 500.
  void app.register(async (scope) => routes(scope, deps));
}

async function routes<L extends FastifyBaseLogger>(app: App<L>, deps: FreeBusyRouteDeps): Promise<void> {
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message ?? 'bad request' });
    logEvent(reqLog(req), 'service.crashed', { err, route: 'freebusy' }, 'free/busy request failed', deps.metrics);
    return reply.code(500).send({ error: 'internal error' });
  });
  const check = createAccessCheck(deps.access);
  const now = deps.now ?? Date.now;

  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    const d = check(req.ip, req.headers.authorization);
    if (d.ok || deps.loggedIn?.(req)) return;
    logEvent(reqLog(req), 'calendar.access.denied', { ip: req.ip, reason: d.reason }, undefined, deps.metrics);
    if (d.challenge) void reply.header('www-authenticate', d.challenge);
    return reply.code(d.status).send({ error: d.reason });
  };

  app.get<{ Params: { address: string } }>('/freebusy/:address', { onRequest: guard }, async (req, reply) => {
    let window: Window;
    const address = addressOf(req.params.address);
    try {
      window = queryWindow(deps.broker, req.query);
      const res = await deps.broker.resolve(address);
      if (res.kind === 'unknown') {
        return reply.code(404).send({ error: `unknown address: ${res.reason}`, code: CalendarErrors.CALENDAR_ADDRESS_UNKNOWN, address: address.toLowerCase() });
      }
    } catch (err) {
      const r = badRequest(reply, err);
      if (r) return r;
      throw err;
    }
    const ans = await deps.broker.lookup([address], window, reqLog(req));
    void reply.header('cache-control', 'private, max-age=0');
    if (wantsJson(req.headers.accept, false)) return reply.send({ start: ans.start.toISOString(), end: ans.end.toISOString(), ...attendeeJson(ans.attendees[0]!) });
    return reply.type(ICS).send(formatAnswerIcs(ans, new Date(now())));
  });

  app.post<{ Body: unknown }>('/freebusy', { onRequest: guard }, async (req, reply) => {
    let parsed: { attendees: string[]; window: Window };
    try {
      parsed = postRequest(deps.broker, req.body);
    } catch (err) {
      const r = badRequest(reply, err);
      if (r) return r;
      throw err;
    }
    const { attendees, window } = parsed;
    const ans = await deps.broker.lookup(attendees, window, reqLog(req));
    void reply.header('cache-control', 'private, max-age=0');
    if (wantsJson(req.headers.accept, true)) return reply.send(answerJson(ans));
    return reply.type(ICS).send(formatAnswerIcs(ans, new Date(now())));
  });
}
