/**
 * The console's Free/busy page API (issue 7): one person's busy time for one
 * calendar day, from the same broker as /freebusy (so the same sources, cache
 * and timeouts). The day is a civil date in the viewer's time zone (`tz`, an
 * IANA name; UTC by default), so the page can draw hours as the viewer reads them.
 */
import type { FastifyBaseLogger } from 'fastify';
import { MbError } from '../core/errors.js';
import { attendeeJson, CalendarErrors, type FreeBusyBroker } from '../calendar/index.js';
import { wallTimeToUtc } from '../protocol/ical/index.js';
import type { Logger } from '../observe/index.js';
import type { App, ConsoleArea } from './console-routes.js';
import { parseParams } from './console-params.js';
import { addressParam, badRequest } from './console-page-util.js';

export interface FreeBusyAreaDeps {
  broker: Pick<FreeBusyBroker, 'window' | 'lookup'>;
  now?: () => number;
}

/** [start, end) of a civil day in a zone; a string when the day or zone is not valid. */
export function dayWindow(day: string, tz: string): { start: Date; end: Date } | string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return `day: ${JSON.stringify(day.slice(0, 40))} is not a date (YYYY-MM-DD)`;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return `day: ${day} is not a calendar date`;
  const start = wallTimeToUtc({ year: y, month: mo, day: d }, tz);
  if (!start) return `tz: ${JSON.stringify(tz.slice(0, 60))} is not a known time zone (an IANA name such as Europe/Berlin)`;
  const next = new Date(Date.UTC(y, mo - 1, d + 1));
  const end = wallTimeToUtc({ year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() }, tz)!;
  return { start, end };
}

export function freeBusyArea(deps: FreeBusyAreaDeps): ConsoleArea {
  const spec = { day: { kind: 'text', max: 10 }, tz: { kind: 'text', max: 64 } } as const;
  return <L extends FastifyBaseLogger>(app: App<L>): void => {
    app.get<{ Params: { address: string } }>('/api/freebusy/:address', async (req, reply) => {
      const a = addressParam(req.params.address);
      if (!a.ok) return badRequest(reply, a.error);
      const p = parseParams(req.query, spec);
      if (!p.ok) return badRequest(reply, p.error);
      if (!p.value.day) return badRequest(reply, 'day: required (YYYY-MM-DD)');
      const tz = p.value.tz ?? 'UTC';
      const w = dayWindow(p.value.day, tz);
      if (typeof w === 'string') return badRequest(reply, w);
      let window;
      try {
        // The broker's own limits (calendar.windowBack / windowForward) apply here too.
        window = deps.broker.window({ start: w.start.toISOString(), end: w.end.toISOString() });
      } catch (err) {
        if (MbError.is(err, CalendarErrors.CALENDAR_WINDOW_INVALID)) return badRequest(reply, `day: ${err.message}`);
        throw err;
      }
      const ans = await deps.broker.lookup([a.value], window, req.log as unknown as Logger);
      const one = attendeeJson(ans.attendees[0]!);
      return { day: p.value.day, tz, start: ans.start.toISOString(), end: ans.end.toISOString(), ...one };
    });
  };
}
