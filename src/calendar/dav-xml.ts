/**
 * Just enough XML for WebDAV multistatus answers (RFC 4918 14.16, RFC 4791 9.6):
 * elements with namespaces resolved (any prefix, default namespace), text with
 * the predefined and numeric entities decoded (XML 1.0 4.6, 4.1), CDATA
 * sections, comments and processing instructions skipped. A DOCTYPE is refused:
 * no DAV server sends one, and internal subsets are how entity bombs arrive.
 * Bytes in, a tree out; no dependency.
 */
import { MbError } from '../core/errors.js';
import { CalendarErrors } from './errors.js';

export const DAV_NS = 'DAV:';
export const CALDAV_NS = 'urn:ietf:params:xml:ns:caldav';

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  /** Local name. */
  name: string;
  /** Attributes by local name (namespace prefixes dropped). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), children's text excluded. */
  text: string;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ATTR = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function bad(reason: string): MbError {
  return new MbError(CalendarErrors.CALENDAR_SOURCE_PROTOCOL, `malformed XML from the source: ${reason}`);
}

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{1,10});/g, (all, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code < 0 || code > 0x10ffff) throw bad(`bad character reference ${all}`);
      return String.fromCodePoint(code);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw bad(`unknown entity ${all}`);
    return v;
  });
}

interface Frame {
  el: XmlElement;
  qname: string;
  scope: Map<string, string>;
}

function resolveName(qname: string, scope: Map<string, string>): { ns: string; name: string } {
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const name = colon < 0 ? qname : qname.slice(colon + 1);
  if (prefix === 'xml') return { ns: XML_NS, name };
  const ns = scope.get(prefix);
  if (ns === undefined && prefix !== '') throw bad(`undeclared namespace prefix "${prefix}"`);
  return { ns: ns ?? '', name };
}

function openTag(body: string, parent: Frame | undefined): Frame {
  const m = /^([^\s/>]+)/.exec(body);
  if (!m) throw bad('empty tag name');
  const qname = m[1]!;
  const raw: [string, string][] = [];
  for (const a of body.slice(qname.length).matchAll(ATTR)) raw.push([a[1]!, decodeEntities(a[2] ?? a[3] ?? '')]);
  let scope = parent?.scope ?? new Map<string, string>();
  const decls = raw.filter(([k]) => k === 'xmlns' || k.startsWith('xmlns:'));
  if (decls.length) {
    scope = new Map(scope);
    for (const [k, v] of decls) scope.set(k === 'xmlns' ? '' : k.slice(6), v);
  }
  const attrs: Record<string, string> = {};
  for (const [k, v] of raw) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    attrs[k.includes(':') ? k.slice(k.indexOf(':') + 1) : k] = v;
  }
  const { ns, name } = resolveName(qname, scope);
  return { el: { ns, name, attrs, children: [], text: '' }, qname, scope };
}

/** Skips a markup declaration at i ('<?', '<!--'); returns the index after it. */
function skipSpecial(xml: string, i: number): number {
  const close = xml.startsWith('<?', i) ? '?>' : '-->';
  const end = xml.indexOf(close, i);
  if (end < 0) throw bad('unterminated comment or processing instruction');
  return end + close.length;
}

/** Index of the '>' closing the tag that starts at i, skipping quoted attribute values; -1 if none. */
function tagEnd(xml: string, i: number): number {
  let quote = '';
  for (let j = i; j < xml.length; j++) {
    const c = xml[j];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return j;
  }
  return -1;
}

/** Parses one XML document into its root element. Throws CALENDAR_SOURCE_PROTOCOL when malformed. */
export function parseXml(xml: string): XmlElement {
  const stack: Frame[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) {
      const text = xml.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.el.text += decodeEntities(text);
      else if (text.trim()) throw bad('text outside the root element');
    }
    if (lt < 0) break;
    if (xml.startsWith('<?', lt) || xml.startsWith('<!--', lt)) {
      i = skipSpecial(xml, lt);
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt);
      const top = stack[stack.length - 1];
      if (end < 0 || !top) throw bad('CDATA section outside an element or unterminated');
      top.el.text += xml.slice(lt + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!', lt)) {
      throw bad('DOCTYPE and markup declarations are not accepted');
    } else {
      const gt = tagEnd(xml, lt + 1);
      if (gt < 0) throw bad('unterminated tag');
      i = gt + 1;
      const body = xml.slice(lt + 1, gt);
      if (body.startsWith('/')) {
        const frame = stack.pop();
        if (!frame || frame.qname !== body.slice(1).trim()) throw bad(`unexpected closing tag </${body.slice(1, 60).trim()}>`);
        continue;
      }
      const selfClosing = body.endsWith('/');
      const frame = openTag(selfClosing ? body.slice(0, -1) : body, stack[stack.length - 1]);
      const parent = stack[stack.length - 1];
      if (parent) parent.el.children.push(frame.el);
      else if (root) throw bad('more than one root element');
      else root = frame.el;
      if (!selfClosing) stack.push(frame);
    }
  }
  if (stack.length) throw bad(`unclosed element <${stack[stack.length - 1]!.qname}>`);
  if (!root) throw bad('no root element');
  return root;
}

export function children(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.name === name) : [];
}

export function child(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.name === name);
}

/** Every descendant (depth first) with this name. */
export function descendants(el: XmlElement, ns: string, name: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of el.children) {
    if (c.ns === ns && c.name === name) out.push(c);
    descendants(c, ns, name, out);
  }
  return out;
}

/** One <response> of a multistatus: its href and, per propstat status, the props. */
export interface DavResponse {
  href: string;
  /** response-level status (e.g. 404 for a whole resource), when present */
  status?: number;
  /** props found with 2xx status */
  props: XmlElement[];
}

function statusCode(el: XmlElement | undefined): number | undefined {
  const m = el ? /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(el.text) : null;
  return m ? Number(m[1]) : undefined;
}

/** The responses of a 207 Multi-Status body (RFC 4918 13). */
export function parseMultistatus(xml: string): DavResponse[] {
  const root = parseXml(xml);
  if (root.ns !== DAV_NS || root.name !== 'multistatus') throw bad(`root element is ${root.name}, not DAV:multistatus`);
  return children(root, DAV_NS, 'response').map((r) => {
    const props: XmlElement[] = [];
    for (const ps of children(r, DAV_NS, 'propstat')) {
      const code = statusCode(child(ps, DAV_NS, 'status'));
      if (code !== undefined && code >= 200 && code < 300) props.push(...(child(ps, DAV_NS, 'prop')?.children ?? []));
    }
    const status = statusCode(child(r, DAV_NS, 'status'));
    const href = (child(r, DAV_NS, 'href')?.text ?? '').trim();
    return status === undefined ? { href, props } : { href, status, props };
  });
}
