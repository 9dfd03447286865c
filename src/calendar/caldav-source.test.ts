import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { calendarsOf, zoneOfVtimezone } from './caldav-source.js';
import { parseMultistatus } from './dav-xml.js';

const ok = '<d:status>HTTP/1.1 200 OK</d:status>';
const resp = (href: string, props: string) => `<d:response><d:href>${href}</d:href><d:propstat><d:prop>${props}</d:prop>${ok}</d:propstat></d:response>`;

describe('calendarsOf (PROPFIND Depth 1 on a calendar home)', () => {
  const xml = `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
${resp('/alice/', '<d:resourcetype><d:collection/></d:resourcetype>')}
${resp('/alice/work/', `<d:resourcetype><d:collection/><cal:calendar/></d:resourcetype>
  <d:supported-report-set><d:supported-report><d:report><cal:calendar-query/></d:report></d:supported-report></d:supported-report-set>
  <cal:calendar-timezone>BEGIN:VCALENDAR&#13;
BEGIN:VTIMEZONE&#13;
TZID:W. Europe Standard Time&#13;
END:VTIMEZONE&#13;
END:VCALENDAR</cal:calendar-timezone>`)}
${resp('/alice/fb/', '<d:resourcetype><d:collection/><cal:calendar/></d:resourcetype><d:supported-report-set><d:supported-report><d:report><cal:free-busy-query/></d:report></d:supported-report></d:supported-report-set>')}
${resp('/alice/tasks/', '<d:resourcetype><d:collection/><cal:calendar/></d:resourcetype><cal:supported-calendar-component-set><cal:comp name="VTODO"/></cal:supported-calendar-component-set>')}
${resp('/alice/holidays/', '<d:resourcetype><d:collection/><cal:calendar/></d:resourcetype><cal:schedule-calendar-transp><cal:transparent/></cal:schedule-calendar-transp>')}
${resp('/alice/contacts/', '<d:resourcetype><d:collection/><x:addressbook xmlns:x="urn:ietf:params:xml:ns:carddav"/></d:resourcetype>')}
</d:multistatus>`;

  it('keeps event calendars, skips tasks, transparent calendars and address books', () => {
    const cals = calendarsOf(parseMultistatus(xml), 'http://dav.example/alice/');
    assert.deepEqual(cals, [
      { url: 'http://dav.example/alice/work/', freeBusyQuery: false, zone: 'Europe/Berlin' },
      { url: 'http://dav.example/alice/fb/', freeBusyQuery: true },
    ]);
  });

  it('maps IANA and Windows zone names and drops unknown ones', () => {
    assert.equal(zoneOfVtimezone('BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nEND:VTIMEZONE'), 'America/New_York');
    assert.equal(zoneOfVtimezone('TZID:Nowhere/Special'), undefined);
  });
});
