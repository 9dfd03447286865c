/**
 * calendar: free/busy for any person from whichever system holds their
 * calendar (CalDAV or a published free/busy URL), with a cache and a
 * per-source timeout. Busy-time computation itself is protocol/ical.
 */
export type {
  Window, Person, SourceAnswer, SourceMethod, FreeBusySource, AttendeeStatus, AttendeeFreeBusy, FreeBusyAnswer, BusyPeriod, BusyType,
} from './types.js';
export { CalendarErrors, type CalendarErrorCode } from './errors.js';
export { parseInstant, resolveWindow, type WindowLimits } from './window.js';
export { PersonResolver, DirectoryFirstResolver, parseUsersCsv, normalizeAddress, type DirectoryLookup, type Resolution, type SystemPeople, type UserRow } from './people.js';
export { FreeBusyBroker, type BrokerOptions } from './broker.js';
export { CaldavSource, type CaldavSourceOptions } from './caldav-source.js';
export { FreeBusyUrlSource, type UrlSourceOptions } from './url-source.js';
export { AnswerCache, type CacheState } from './cache.js';
export { buildBroker, buildSources, buildResolver, type CalendarConfigSlice, type BuildDeps } from './build.js';
export { formatAnswerIcs, answerJson, attendeeJson } from './format.js';
