/**
 * A user's folder listing, from whichever connection is already open: LIST,
 * LSUB and NAMESPACE (RFC 3501 6.3.8/6.3.9, RFC 2342) on the lean reader or the
 * pipelined APPEND connection, so a pass needs no imapflow session on either
 * side just to learn the folders (two logins per user fewer). imapflow's list()
 * stays the path for everything unusual: rawListing() answers undefined for a
 * server that speaks only IMAP4rev2 (no LSUB), offers XLIST instead of
 * SPECIAL-USE, refuses a command or writes a line this parser does not read,
 * and the caller then asks imapflow (imapflowListing).
 *
 * Names are the wire (modified UTF-7) names exactly as listed: the plan and the
 * APPEND/STATUS commands use them as they are.
 */
import type { ImapFlow, ListResponse } from 'imapflow';
import { specialUseFromAttributes, type SpecialUse } from '../protocol/imap/index.js';

export interface ListedFolder {
  wire: string;
  delimiter: string | null;
  flags: string[];
  /** The RFC 6154 use the server announced for this folder (never a guess from the name). */
  specialUse?: SpecialUse;
  subscribed: boolean;
}

/** The personal namespace (RFC 2342): Courier and Cyrus put every folder under "INBOX.", Dovecot and Exchange use "". */
export interface Namespace {
  prefix: string;
  delimiter: string | null;
}

export interface Listing {
  folders: ListedFolder[];
  namespace?: Namespace;
}

/** A connection that sends one command line and answers its tagged status and the untagged lines it caused (literals inlined as quoted strings). */
export interface ListingConn {
  command(line: string): Promise<{ status: string; untagged: string[] }>;
  readonly caps: ReadonlySet<string>;
}

type Token = { kind: 'string'; value: string } | { kind: 'nil' } | { kind: 'list'; items: Token[] };

/** Reads one token at `pos` (quoted string, atom, NIL or parenthesized list); undefined when the text is not one. */
function readToken(s: string, pos: number): { token: Token; end: number } | undefined {
  if (s[pos] === '"') {
    let out = '';
    for (let i = pos + 1; i < s.length; i++) {
      const c = s[i]!;
      if (c === '\\') { out += s[++i] ?? ''; continue; }
      if (c === '"') return { token: { kind: 'string', value: out }, end: i + 1 };
      out += c;
    }
    return undefined;
  }
  if (s[pos] === '(') {
    const items: Token[] = [];
    let i = pos + 1;
    while (i < s.length) {
      if (s[i] === ' ') { i++; continue; }
      if (s[i] === ')') return { token: { kind: 'list', items }, end: i + 1 };
      const t = readToken(s, i);
      if (!t) return undefined;
      items.push(t.token);
      i = t.end;
    }
    return undefined;
  }
  let end = pos;
  while (end < s.length && !' ()"'.includes(s[end]!)) end++;
  if (end === pos) return undefined;
  const atom = s.slice(pos, end);
  return { token: atom.toUpperCase() === 'NIL' ? { kind: 'nil' } : { kind: 'string', value: atom }, end };
}

/** The tokens after `* VERB `, as many as there are (trailing extended data included). */
function tokensAfter(line: string, verb: string): Token[] | undefined {
  const head = `* ${verb} `;
  if (line.slice(0, head.length).toUpperCase() !== head) return undefined;
  const out: Token[] = [];
  let i = head.length;
  while (i < line.length) {
    if (line[i] === ' ') { i++; continue; }
    const t = readToken(line, i);
    if (!t) return undefined;
    out.push(t.token);
    i = t.end;
  }
  return out;
}

/** `* LIST (attributes) delimiter name [extended data]` (also LSUB): undefined when the line is not one. */
export function parseListLine(line: string, verb: 'LIST' | 'LSUB' = 'LIST'): { wire: string; delimiter: string | null; flags: string[] } | undefined {
  const t = tokensAfter(line, verb);
  if (!t || t.length < 3) return undefined;
  const [attrs, delim, name] = t as [Token, Token, Token];
  if (attrs.kind !== 'list' || name.kind !== 'string' || delim.kind === 'list') return undefined;
  const flags: string[] = [];
  for (const a of attrs.items) {
    if (a.kind !== 'string') return undefined;
    flags.push(a.value);
  }
  return { wire: name.value, delimiter: delim.kind === 'string' ? delim.value : null, flags };
}

/** The first personal namespace of a `* NAMESPACE` line; null when the server has none (NIL); undefined when unreadable. */
export function parseNamespace(line: string): Namespace | null | undefined {
  const t = tokensAfter(line, 'NAMESPACE');
  if (!t || t.length < 1) return undefined;
  const personal = t[0]!;
  if (personal.kind === 'nil') return null;
  const first = personal.kind === 'list' ? personal.items[0] : undefined;
  if (first?.kind !== 'list') return undefined;
  const [prefix, delim] = first.items;
  if (prefix?.kind !== 'string' || !delim || delim.kind === 'list') return undefined;
  return { prefix: prefix.value, delimiter: delim.kind === 'string' ? delim.value : null };
}

const isOk = (status: string) => /^OK\b/i.test(status);

/**
 * LIST "" "*", LSUB "" "*" and NAMESPACE (when offered), pipelined on `conn`; undefined when imapflow should
 * answer instead (see the file comment). A folder listed \NonExistent is also \Noselect (RFC 5258 3);
 * INBOX counts as subscribed, as imapflow has it.
 */
export async function rawListing(conn: ListingConn): Promise<Listing | undefined> {
  const caps = conn.caps;
  if (!caps.has('IMAP4REV1')) return undefined;
  if (caps.has('XLIST') && !caps.has('SPECIAL-USE')) return undefined;
  const [list, lsub, ns] = await Promise.all([conn.command('LIST "" "*"'), conn.command('LSUB "" "*"'),
    caps.has('NAMESPACE') ? conn.command('NAMESPACE') : undefined]);
  if (!isOk(list.status) || !isOk(lsub.status) || (ns && !isOk(ns.status))) return undefined;
  const folders: ListedFolder[] = [];
  const byWire = new Map<string, ListedFolder>();
  for (const line of list.untagged) {
    if (!/^\* LIST /i.test(line)) continue;
    const e = parseListLine(line);
    if (!e) return undefined;
    if (byWire.has(e.wire)) continue;
    if (e.flags.some((f) => f.toLowerCase() === '\\nonexistent') && !e.flags.some((f) => f.toLowerCase() === '\\noselect')) e.flags.push('\\Noselect');
    const use = caps.has('SPECIAL-USE') ? specialUseFromAttributes(e.flags) : undefined;
    const f: ListedFolder = { ...e, ...(use ? { specialUse: use } : {}), subscribed: e.wire.toUpperCase() === 'INBOX' };
    folders.push(f);
    byWire.set(e.wire, f);
  }
  for (const line of lsub.untagged) {
    if (!/^\* LSUB /i.test(line)) continue;
    const e = parseListLine(line, 'LSUB');
    if (!e) return undefined;
    // A subscription to a folder that LIST did not show (deleted since) is not a folder to copy.
    const f = byWire.get(e.wire);
    if (f) f.subscribed = true;
  }
  let namespace: Namespace | undefined;
  if (ns) {
    const line = ns.untagged.find((l) => /^\* NAMESPACE /i.test(l));
    const parsed = line === undefined ? undefined : parseNamespace(line);
    if (parsed === undefined) return undefined;
    namespace = parsed ?? undefined;
  } else {
    // No NAMESPACE: "" and the delimiter of INBOX, as imapflow derives it.
    namespace = { prefix: '', delimiter: folders.find((f) => f.wire.toUpperCase() === 'INBOX')?.delimiter ?? folders[0]?.delimiter ?? null };
  }
  return { folders, ...(namespace ? { namespace } : {}) };
}

/** The same listing through an imapflow session (its own LIST/LSUB logic and the NAMESPACE it asked after login). */
export async function imapflowListing(client: ImapFlow): Promise<Listing> {
  const list = await client.list();
  const namespace = personalNamespace(client);
  return { folders: list.map(fromImapflow), ...(namespace ? { namespace } : {}) };
}

function fromImapflow(f: ListResponse): ListedFolder {
  // Only what the server announced (RFC 6154), never imapflow's guess from the name:
  // planFolders applies its own localized-name table and reports why.
  const use = f.specialUse && f.specialUseSource === 'extension' ? specialUseFromAttributes([f.specialUse]) : undefined;
  return { wire: f.pathAsListed || f.path, delimiter: f.delimiter ?? null, flags: [...f.flags], ...(use ? { specialUse: use } : {}), subscribed: f.subscribed };
}

export function personalNamespace(client: Pick<ImapFlow, 'namespace' | 'namespaces'>): Namespace | undefined {
  const ns = client.namespaces?.personal?.[0] ?? client.namespace;
  if (!ns) return undefined;
  return { prefix: typeof ns.prefix === 'string' ? ns.prefix : '', delimiter: typeof ns.delimiter === 'string' ? ns.delimiter : null };
}
