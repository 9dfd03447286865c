/**
 * The {address} {local} {domain} templates of `caldav.home` and `freebusyUrl`.
 * Each value is percent-encoded as one path segment, so an address can never
 * add a path segment, a query or another host to the URL; "." and ".." are
 * refused because URL parsers resolve them (even encoded) as dot-segments.
 */
import { MbError } from '../core/errors.js';
import { CalendarErrors } from './errors.js';
import type { Person } from './types.js';

export function expandTemplate(template: string, person: Person): string {
  const values: Record<string, string> = { address: person.address, local: person.local, domain: person.domain };
  return template.replace(/\{(address|local|domain)\}/g, (_all, key: string) => {
    const v = values[key] ?? '';
    if (v === '' || /^\.+$/.test(v)) throw new MbError(CalendarErrors.CALENDAR_ADDRESS_INVALID, `cannot put ${JSON.stringify(v)} into a URL`);
    return encodeURIComponent(v);
  });
}
