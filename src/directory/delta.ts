/**
 * Reads by change (issue 5: an incremental run with 1,000 changes among
 * 100,000 people in under 5 s). Instead of listing every entry's change mark
 * to find the changed ones, a scoped run asks the server for the entries
 * whose mark is at or above the highest one it saw last time:
 *
 *   (&(filter)(entryCSN>=20261122212953.000000Z#000000#000#000000))
 *
 * entryCSN (OpenLDAP), modifyTimestamp (any RFC 4512 server) and uSNChanged
 * (Active Directory, one DC) all have an ordering rule, so the server tests
 * each entry itself and sends only the changed ones. A names-only listing
 * (DNs, no attributes) still finds removals, renames and moves.
 *
 * The mark asked for lies OVERLAP_MS below the highest one seen: a change
 * replicated from another master with a slightly older stamp (clock skew,
 * replication lag) is still caught. Entries read again that way carry the
 * stored mark and count as unchanged. Anything older is repaired by the daily
 * full read (incremental.ts FULL_READ_EVERY_MS), as are contacts of ours
 * deleted by hand, which no search by change can see.
 */
import { escapeFilterValue } from '../protocol/ldap/index.js';
import type { AttributeMap } from './mapping.js';

/** How far below the highest mark seen a read by change starts. */
export const OVERLAP_MS = 2 * 60 * 1000;

export type Kind = 'csn' | 'time' | 'usn';

/** The mark attributes a read by change understands, with the syntax of their values. */
const DELTA_ATTRIBUTES: ReadonlyMap<string, { name: string; kind: Kind; syntax: RegExp }> = new Map([
  // YYYYmmddHHMMSS.uuuuuuZ#counter#sid#mod (OpenLDAP)
  ['entrycsn', { name: 'entryCSN', kind: 'csn', syntax: /^\d{14}\.\d{6}Z#[0-9a-f]+#[0-9a-f]+#[0-9a-f]+$/i }],
  // GeneralizedTime, UTC (RFC 4517 section 3.3.13): whole seconds or a fraction.
  ['modifytimestamp', { name: 'modifyTimestamp', kind: 'time', syntax: /^\d{14}(?:[.,]\d+)?Z$/ }],
  ['usnchanged', { name: 'uSNChanged', kind: 'usn', syntax: /^\d{1,19}$/ }],
]);

export interface DeltaMark {
  /** The attribute, as spelled in filters. */
  attribute: string;
  kind: Kind;
}

/**
 * The mark a system's reads by change use: the first change-mark attribute of
 * the map, when it is one of entryCSN, modifyTimestamp or uSNChanged and every
 * stored entry of the system has a mark of its syntax (an entry without one
 * could change unseen). Null: list every entry's mark instead.
 */
export function deltaMark(map: AttributeMap, marks: Iterable<string | null>): DeltaMark | null {
  const first = map.changeMark?.[0];
  const known = first === undefined ? undefined : DELTA_ATTRIBUTES.get(first.toLowerCase());
  if (!known) return null;
  let any = false;
  for (const m of marks) {
    if (m === null || !known.syntax.test(m)) return null;
    any = true;
  }
  return any ? { attribute: known.name, kind: known.kind } : null;
}

/** The kind of the map's first change-mark attribute, when a read by change understands it. */
export function markKind(map: AttributeMap): Kind | null {
  const first = map.changeMark?.[0];
  return (first === undefined ? undefined : DELTA_ATTRIBUTES.get(first.toLowerCase()))?.kind ?? null;
}

/** True when value is a mark of this kind (other values are left out of the high mark). */
export function isMark(mark: DeltaMark | Kind, value: string): boolean {
  const kind = typeof mark === 'string' ? mark : mark.kind;
  for (const a of DELTA_ATTRIBUTES.values()) if (a.kind === kind) return a.syntax.test(value);
  return false;
}

/** Orders two marks of one kind: negative when a is older. */
export function compareMarks(kind: Kind, a: string, b: string): number {
  if (kind === 'usn') {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  // CSNs and UTC GeneralizedTimes sort as text from the first digit on.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The highest of the marks of this kind (others ignored); `start` when none is higher. */
export function highestMark(kind: Kind, start: string | null, marks: Iterable<string | null | undefined>): string | null {
  let high = start;
  for (const m of marks) {
    if (m === null || m === undefined || !isMark(kind, m)) continue;
    if (high === null || compareMarks(kind, m, high) > 0) high = m;
  }
  return high;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function stamp(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

function parseStamp(text: string): number {
  const [y, mo, d, h, mi, s] = [text.slice(0, 4), text.slice(4, 6), text.slice(6, 8), text.slice(8, 10), text.slice(10, 12), text.slice(12, 14)].map(Number);
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

/** The server ID inside an entryCSN (`...#counter#sid#mod`); null for anything else. */
function csnServerId(csn: string): string | null {
  const parts = csn.split('#');
  return parts.length === 4 ? parts[2]! : null;
}

/**
 * The overlap a read by change needs. CSNs that all carry server ID 0 come
 * from a server without `serverID`, which OpenLDAP requires of every
 * provider in multi-provider replication: one provider, whose changes reach
 * any replica in CSN order, so nothing can turn up later below the newest
 * mark seen and no overlap is needed. Any other CSN, and timestamps (whose
 * clocks are the servers'), keep the configured one; USNs have none anyway.
 */
export function effectiveOverlap(mark: DeltaMark, marks: Iterable<string | null>, configured: number): number {
  if (mark.kind !== 'csn') return configured;
  for (const m of marks) {
    if (m === null) continue;
    const sid = csnServerId(m);
    if (sid === null || !/^0+$/.test(sid)) return configured;
  }
  return 0;
}

/** The lowest mark a read by change asks for: the high mark, less OVERLAP_MS for time-based marks. */
export function sinceValue(mark: DeltaMark, high: string, overlapMs = OVERLAP_MS): string {
  if (mark.kind === 'usn' || overlapMs <= 0) return high;
  const t = stamp(parseStamp(high) - overlapMs);
  return mark.kind === 'csn' ? `${t}.000000Z#000000#000#000000` : `${t}Z`;
}

/**
 * The filter clause of a read by change. Without an overlap, a CSN or a USN
 * (one per change) asks for marks above the high one; a modifyTimestamp
 * (whole seconds, several changes in one) for marks at or above it.
 */
export function sinceFilter(mark: DeltaMark, high: string, overlapMs = OVERLAP_MS): string {
  const at = `(${mark.attribute}>=${escapeFilterValue(sinceValue(mark, high, overlapMs))})`;
  if (overlapMs > 0 || mark.kind === 'time') return at;
  return `(&${at}(!(${mark.attribute}=${escapeFilterValue(high)})))`;
}
