/**
 * Builds the broker from the configuration: one source per system that has
 * `caldav` or `freebusyUrl`, the person resolver from the users CSV texts
 * (read by the caller: only cli/ reads files) and the calendar settings.
 */
import type { Config } from '../config/index.js';
import type { Logger, Metrics } from '../observe/index.js';
import { FreeBusyBroker } from './broker.js';
import { CaldavSource } from './caldav-source.js';
import { DirectoryFirstResolver, PersonResolver, parseUsersCsv, type DirectoryLookup, type SystemPeople } from './people.js';
import type { FreeBusySource } from './types.js';
import { FreeBusyUrlSource } from './url-source.js';

/** How long a person's list of calendars is reused at least, ms. */
const DISCOVERY_TTL = 5 * 60_000;

export type CalendarConfigSlice = Pick<Config, 'systems' | 'domains' | 'calendar'> & { gateway?: Pick<NonNullable<Config['gateway']>, 'routing'> };

export interface BuildDeps {
  /** Per system, the text of its users CSV (systems without `users` are absent). */
  usersCsv: Readonly<Record<string, string>>;
  /** The unified directory, asked first when given. */
  directory?: DirectoryLookup;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

export function buildSources(config: CalendarConfigSlice, now?: () => number): Map<string, FreeBusySource> {
  const sources = new Map<string, FreeBusySource>();
  for (const [name, s] of Object.entries(config.systems)) {
    if (s.caldav) {
      sources.set(name, new CaldavSource({
        system: name, url: s.caldav.url, user: s.caldav.user, password: s.caldav.password, home: s.caldav.home,
        tlsInsecure: s.tlsInsecure, maxInstances: config.calendar.maxInstances,
        // The list of a person's calendars changes rarely; keep it even when answers are not cached.
        discoveryTtl: Math.max(config.calendar.cacheTtl, DISCOVERY_TTL), ...(now ? { now } : {}),
      }));
    } else if (s.freebusyUrl) {
      sources.set(name, new FreeBusyUrlSource({ system: name, template: s.freebusyUrl, maxInstances: config.calendar.maxInstances, tlsInsecure: s.tlsInsecure }));
    }
  }
  return sources;
}

export function buildResolver(config: CalendarConfigSlice, usersCsv: Readonly<Record<string, string>>): PersonResolver {
  const routing = config.gateway?.routing.routingDomains ?? {};
  const people: SystemPeople[] = Object.entries(config.systems).map(([name, s]) => {
    const text = usersCsv[name];
    return {
      name,
      hasSource: !!(s.caldav || s.freebusyUrl),
      ...(text !== undefined ? { users: parseUsersCsv(text, s.users ?? `systems.${name}.users`) } : {}),
      ...(routing[name] ? { routingDomain: routing[name] } : {}),
    };
  });
  return new PersonResolver(people, config.domains);
}

export function buildBroker(config: CalendarConfigSlice, deps: BuildDeps): FreeBusyBroker {
  const c = config.calendar;
  return new FreeBusyBroker({
    resolver: deps.directory ? new DirectoryFirstResolver(deps.directory, buildResolver(config, deps.usersCsv)) : buildResolver(config, deps.usersCsv),
    sources: buildSources(config, deps.now),
    timeout: c.timeout, cacheTtl: c.cacheTtl,
    windowBack: c.windowBack, windowForward: c.windowForward, maxWindow: c.maxWindow,
    log: deps.log, ...(deps.metrics ? { metrics: deps.metrics } : {}), ...(deps.now ? { now: deps.now } : {}),
  });
}
