/**
 * The IMAP reads and writes the engine needs, on top of imapflow. Every source
 * read is BODY.PEEK / FLAGS on a mailbox opened with EXAMINE (RFC 3501 6.3.2),
 * so a migration never sets \Seen or any other flag on the source.
 */
import type { ImapFlow } from 'imapflow';
import { MbError, describeError } from '../core/index.js';
import { MigrationErrors } from './errors.js';
import { expandSet, parseImapDate } from './imap-parse.js';

export interface MessageMeta {
  uid: number;
  size: number;
  flags: string[];
  /** RFC 3501 date-time text (imap-parse.ts imapDateText): sent back as is on APPEND. */
  internalDate?: string;
}

/** UID FETCH of BODY.PEEK[] for a set of UIDs: the exact bytes (imapflow's `source`). */
export async function fetchBodies(client: ImapFlow, uids: readonly number[]): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  if (uids.length === 0) return out;
  // fetchAll, not the async iterator: a batch is held whole anyway, and the iterator's
  // per-message hand-off costs about a third of imapflow's CPU per body (bench/migrate).
  for (const m of await client.fetchAll(uids.join(','), { uid: true, source: true }, { uid: true })) {
    if (m.source) out.set(m.uid, m.source);
  }
  return out;
}

export type AppendOutcome = { ok: true; uid: number | null } | { ok: false; reason: string };

/** The server's own words from a failed command, never more than one line. */
export function serverAnswer(err: unknown): string {
  const e = err as { responseText?: unknown; responseStatus?: unknown; serverResponseCode?: unknown };
  if (typeof e.responseText === 'string' && e.responseText) {
    const code = typeof e.serverResponseCode === 'string' ? `[${e.serverResponseCode}] ` : '';
    return `${typeof e.responseStatus === 'string' ? e.responseStatus : 'NO'} ${code}${e.responseText}`.split(/\r?\n/)[0]!;
  }
  return describeError(err);
}

/** A NO or BAD to the command itself (the message is refused); anything else is the connection. */
export function isRefusal(err: unknown): boolean {
  const s = (err as { responseStatus?: unknown }).responseStatus;
  return s === 'NO' || s === 'BAD';
}

/** APPEND with flags and INTERNALDATE; the target UID from APPENDUID (RFC 4315) when offered. */
export async function appendMessage(client: ImapFlow, path: string, body: Buffer, flags: string[], date?: string): Promise<AppendOutcome> {
  try {
    const r = await client.append(path, body, flags, date === undefined ? undefined : parseImapDate(date));
    if (r === false) return { ok: false, reason: 'APPEND failed without an answer' };
    return { ok: true, uid: typeof r.uid === 'number' ? r.uid : null };
  } catch (err) {
    if (isRefusal(err)) return { ok: false, reason: serverAnswer(err) };
    throw new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `APPEND to ${path}: ${serverAnswer(err)}`, { retry: 'transient', cause: err });
  }
}

/**
 * A selected folder's UIDs, ascending, as one typed array (4 bytes each): UID SEARCH
 * RETURN (ALL) ALL (ESEARCH, RFC 4731) answers one compact sequence-set, so no
 * object per message is made on the way (a plain UID SEARCH answer is parsed into
 * a token per number); without ESEARCH, the plain SEARCH. With `from`, only the
 * UIDs from there on (UID from:*).
 */
export async function listUids(client: ImapFlow, from = 1, only?: { deleted: boolean }): Promise<Uint32Array> {
  if (!client.mailbox || client.mailbox.exists === 0) return new Uint32Array(0);
  const query = { ...(from > 1 ? { uid: `${from}:*` } : { all: true }), ...only };
  const r = await client.search(query, { uid: true, returnOptions: ['ALL'] });
  if (!r) return new Uint32Array(0);
  const all = Array.isArray(r) ? Uint32Array.from(r).sort() : expandSet(r.all ?? '');
  // "n:*" also matches the highest UID when n is past it (RFC 3501 6.4.8).
  return from > 1 && all.length > 0 && all[0]! < from ? all.filter((u) => u >= from) : all;
}
