import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/errors.js';
import { CALDAV_NS, DAV_NS, child, parseMultistatus, parseXml } from './dav-xml.js';

describe('dav-xml', () => {
  it('resolves any prefix and the default namespace', () => {
    const root = parseXml('<?xml version="1.0"?><x:multistatus xmlns:x="DAV:" xmlns="urn:ietf:params:xml:ns:caldav"><x:response><calendar-data/></x:response></x:multistatus>');
    assert.equal(root.ns, DAV_NS);
    assert.equal(root.name, 'multistatus');
    const resp = child(root, DAV_NS, 'response');
    assert.ok(child(resp, CALDAV_NS, 'calendar-data'));
  });

  it('decodes entities and keeps CDATA verbatim', () => {
    const root = parseXml('<a xmlns="DAV:">x &amp; y &lt;&#65;&#x42;&gt; <![CDATA[<b>&amp;</b>]]></a>');
    assert.equal(root.text, 'x & y <AB> <b>&amp;</b>');
  });

  it('reads a quoted > in an attribute and an xml:lang attribute', () => {
    const root = parseXml(`<a xmlns="DAV:" title="1 > 0" xml:lang='en'><b/></a>`);
    assert.equal(root.attrs.title, '1 > 0');
    assert.equal(root.attrs.lang, 'en');
    assert.equal(root.children.length, 1);
  });

  for (const [name, xml] of [
    ['an unknown prefix', '<d:a xmlns:x="DAV:"/>'],
    ['a mismatched close', '<a><b></a></b>'],
    ['an unclosed element', '<a><b/>'],
    ['a DOCTYPE', '<!DOCTYPE a [<!ENTITY x "y">]><a/>'],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['two roots', '<a/><b/>'],
    ['no root', '   '],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseXml(xml), (e: unknown) => MbError.is(e, 'CALENDAR_SOURCE_PROTOCOL'));
    });
  }

  it('splits a multistatus into responses with 2xx props and statuses', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <D:response><D:href>/u/calendar/a.ics</D:href>
  <D:propstat><D:prop><C:calendar-data>BEGIN:VCALENDAR&#13;
END:VCALENDAR&#13;
</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
  <D:propstat><D:prop><D:getetag/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>
 </D:response>
 <D:response><D:href>/u/calendar/gone.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>
</D:multistatus>`;
    const rs = parseMultistatus(xml);
    assert.equal(rs.length, 2);
    assert.equal(rs[0]!.href, '/u/calendar/a.ics');
    assert.deepEqual(rs[0]!.props.map((p) => p.name), ['calendar-data']);
    assert.equal(rs[0]!.props[0]!.text, 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n');
    assert.equal(rs[1]!.status, 404);
  });
});
