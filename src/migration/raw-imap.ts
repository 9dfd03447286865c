/**
 * A lean, pipelined IMAP reader for the source side of the bulk copy. imapflow
 * parses every FETCH response into a generic token tree (about a third of the
 * engine's CPU in bench/migrate); here the responses are cut into lines and
 * literals on Buffers, and only the few FETCH items the copy asks for are read
 * out of the line text (UID, RFC822.SIZE, FLAGS, INTERNALDATE, MODSEQ, and the
 * BODY[] literal). Several commands may be in flight; untagged FETCH answers are
 * routed by UID to the command that asked for that UID.
 *
 * Read-only by construction: the mailbox is opened with EXAMINE and bodies are
 * fetched with BODY.PEEK[] (RFC 3501 6.3.2, 6.4.5), so no flag changes on the source.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { MbError } from '../core/index.js';
import type { ImapEndpoint } from '../config/index.js';
import { MigrationErrors } from './errors.js';
import type { MessageMeta } from './imap-ops.js';
import { parseFetch, parseSearch, parseStatus, quoted, uidSet, type FetchItem, type RawResponse } from './imap-parse.js';

export { imapDateText, parseFetch, parseImapDate, uidSet, type FetchItem, type RawResponse } from './imap-parse.js';

type Sock = Socket | TLSSocket;

interface Waiter {
  tag: string;
  resolve: (line: string) => void;
  reject: (err: Error) => void;
  /** Untagged responses that are not FETCH answers, while this command is the oldest in flight. */
  untagged: string[];
  /** The mailbox selection the command was sent in (RawImap.epoch). */
  epoch: number;
}

export interface ExamineResult {
  exists: number;
  uidValidity: number;
  uidNext?: number;
  highestModseq?: bigint;
  /** With QRESYNC: the UIDs expunged since the given MODSEQ (VANISHED (EARLIER), RFC 7162 3.2.5.1), as a sequence-set. */
  vanished?: string;
}

const LF = 0x0a;
const SOCKET_TIMEOUT_MS = 300_000;
const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;

// The per-UID loops of a FETCH, outside the async method (see copier.ts splitBySize for why).
function claimSinks(sinks: Map<number, (item: FetchItem) => void>, uids: readonly number[], onItem: (item: FetchItem) => void): void {
  for (const u of uids) sinks.set(u, onItem);
}

function releaseSinks(sinks: Map<number, (item: FetchItem) => void>, uids: readonly number[], onItem: (item: FetchItem) => void): void {
  for (const u of uids) if (sinks.get(u) === onItem) sinks.delete(u);
}

export class RawImap {
  private carry: Buffer | undefined;
  private parts: string[] = [];
  private literals: Buffer[] = [];
  private lit: Buffer | undefined;
  private litFill = 0;
  private tagN = 0;
  private readonly waiters: Waiter[] = [];
  private greeting: { resolve: (s: string) => void; reject: (e: Error) => void } | undefined;
  private closed: Error | undefined;
  caps = new Set<string>();
  /**
   * Where untagged FETCH answers go: per mailbox selection ("epoch", one more with every EXAMINE sent), the
   * command that asked for each UID. Two folders' FETCHes may be in flight on one connection (shared-reader.ts):
   * a server runs an EXAMINE only after the commands sent before it, and the ones after it only after it, so an
   * answer belongs to the selection of the oldest command in flight, and UIDs are unique within one selection.
   */
  private readonly fetchSinks = new Map<number, Map<number, (item: FetchItem) => void>>();
  private epoch = 0;
  /** The folder the last EXAMINE sent names (shared-reader.ts), whatever its answer. */
  selected: string | undefined;
  /** Bytes of literals received so far (for tests and progress). */
  bytesIn = 0;

  private constructor(private sock: Sock, private readonly system: string) {
    this.attach(sock);
  }

  private attach(sock: Sock): void {
    if ('setNoDelay' in sock) sock.setNoDelay(true);
    // A server that stops answering mid-command is a dropped connection (retried), never a hang.
    sock.setTimeout(SOCKET_TIMEOUT_MS, () => sock.destroy(new Error(`no answer for ${SOCKET_TIMEOUT_MS / 1000} s: timed out`)));
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new Error('connection closed')));
  }

  private fail(err: Error): void {
    this.closed ??= err;
    const e = new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `${this.system} imap: connection lost (${err.message})`,
      { retry: 'transient', cause: err, details: { system: this.system } });
    this.greeting?.reject(e);
    this.greeting = undefined;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  private onData(chunk: Buffer): void {
    let d = chunk;
    let pos = 0;
    if (this.carry) {
      d = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    while (pos < d.length) {
      if (this.lit) {
        const n = Math.min(this.lit.length - this.litFill, d.length - pos);
        d.copy(this.lit, this.litFill, pos, pos + n);
        this.litFill += n;
        pos += n;
        if (this.litFill === this.lit.length) {
          this.literals.push(this.lit);
          this.bytesIn += this.lit.length;
          this.lit = undefined;
        }
        continue;
      }
      const lf = d.indexOf(LF, pos);
      if (lf < 0) {
        this.carry = d.subarray(pos);
        return;
      }
      const end = lf > pos && d[lf - 1] === 0x0d ? lf - 1 : lf;
      const line = d.toString('latin1', pos, end);
      pos = lf + 1;
      const m = LITERAL_AT_END.exec(line);
      if (m) {
        this.parts.push(line);
        const size = Number(m[1]);
        if (size <= d.length - pos) {
          // The whole literal is in this chunk (most messages): a view of it, no copy. It keeps the chunk alive
          // until the message is appended, as the copy it replaces would have held its own bytes.
          this.literals.push(d.subarray(pos, pos + size));
          this.bytesIn += size;
          pos += size;
        } else {
          this.lit = Buffer.allocUnsafe(size);
          this.litFill = 0;
        }
        continue;
      }
      this.parts.push(line);
      const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
      const literals = this.literals;
      const parts = this.parts;
      this.parts = [];
      this.literals = [];
      this.dispatch({ text, literals }, parts);
    }
  }

  private dispatch(r: RawResponse, parts: readonly string[]): void {
    let t = r.text;
    if (t.startsWith('* ')) {
      if (/^\* \d+ FETCH /i.test(t)) {
        const item = parseFetch(r);
        if (item) this.route(item);
        return;
      }
      const caps = /^\* (?:OK \[)?CAPABILITY ([^\]]*)/i.exec(t);
      if (caps) this.caps = new Set(caps[1]!.toUpperCase().split(' '));
      if (this.greeting) {
        const g = this.greeting;
        this.greeting = undefined;
        if (/^\* (OK|PREAUTH)/i.test(t)) g.resolve(t);
        else g.reject(new Error(t));
        return;
      }
      if (/^\* BYE/i.test(t)) {
        this.fail(new Error(t));
        return;
      }
      // Other answers are read as lines (listing.ts): a literal in one (a mailbox name) goes inline as a quoted string.
      if (r.literals.length > 0) t = parts.map((p, i) => (i < r.literals.length ? p.replace(LITERAL_AT_END, quoted(r.literals[i]!.toString('latin1'))) : p)).join('');
      this.waiters[0]?.untagged.push(t);
      return;
    }
    if (t.startsWith('+')) return;
    const sp = t.indexOf(' ');
    const tag = t.slice(0, sp);
    const i = this.waiters.findIndex((w) => w.tag === tag);
    if (i < 0) return;
    const [w] = this.waiters.splice(i, 1);
    const caps = /^\S+ OK \[CAPABILITY ([^\]]*)\]/i.exec(t);
    if (caps) this.caps = new Set(caps[1]!.toUpperCase().split(' '));
    w!.resolve(t.slice(sp + 1));
  }

  /** Sends one command; resolves with "OK ..." / "NO ..." / "BAD ..." and the untagged non-FETCH lines seen meanwhile. */
  command(line: string): Promise<{ status: string; untagged: string[] }> {
    if (this.closed) return Promise.reject(new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `${this.system} imap: connection lost`, { retry: 'transient', details: { system: this.system } }));
    const tag = `R${++this.tagN}`;
    return new Promise((resolve, reject) => {
      const w: Waiter = { tag, resolve: (status) => resolve({ status, untagged: w.untagged }), reject, untagged: [], epoch: this.epoch };
      this.waiters.push(w);
      this.sock.write(`${tag} ${line}\r\n`);
    });
  }

  private async ok(line: string, what: string): Promise<string[]> {
    const r = await this.command(line);
    if (!/^OK\b/i.test(r.status)) {
      throw new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `${this.system} imap ${what}: ${r.status.split(/\r?\n/)[0]!}`,
        { retry: /\[(UNAVAILABLE|THROTTLED|INUSE|SERVERBUG)\]|Suggested Backoff Time/i.test(r.status) ? 'transient' : 'permanent', details: { system: this.system } });
    }
    return r.untagged;
  }

  static async open(ep: ImapEndpoint, auth: { user: string; pass: string; authzid?: string }, system: string, insecure = false): Promise<RawImap> {
    const sock: Sock = ep.tls === 'implicit'
      ? tlsConnect({ host: ep.host, port: ep.port, servername: ep.host, rejectUnauthorized: !insecure })
      : netConnect({ host: ep.host, port: ep.port });
    const c = new RawImap(sock, system);
    const unreachable = (err: unknown) => new MbError(MigrationErrors.MIGRATION_CONNECT_FAILED, `${system} imap ${ep.host}:${ep.port}: unreachable`,
      { retry: 'transient', cause: err, details: { system } });
    try {
      await new Promise<string>((resolve, reject) => { c.greeting = { resolve, reject }; });
      if (ep.tls === 'starttls') {
        if (!(await c.command('STARTTLS')).status.startsWith('OK')) throw new Error('STARTTLS refused');
        sock.removeAllListeners('data');
        sock.removeAllListeners('close');
        sock.removeAllListeners('error');
        const secure = tlsConnect({ socket: sock, servername: ep.host, rejectUnauthorized: !insecure });
        await new Promise<void>((resolve, reject) => { secure.once('secureConnect', resolve); secure.once('error', reject); });
        c.sock = secure;
        c.attach(secure);
      }
    } catch (err) {
      c.close();
      throw unreachable(err);
    }
    const answer = auth.authzid !== undefined
      ? await c.command(`AUTHENTICATE PLAIN ${Buffer.from(`${auth.authzid}\0${auth.user}\0${auth.pass}`).toString('base64')}`)
      : await c.command(`LOGIN ${quoted(auth.user)} ${quoted(auth.pass)}`);
    if (!answer.status.startsWith('OK')) {
      c.close();
      throw new MbError(MigrationErrors.MIGRATION_LOGIN_FAILED, `${system} imap ${ep.host}:${ep.port}: login refused for the reader`, { details: { system } });
    }
    // Capabilities may change with the login (RFC 3501 6.2.3): ask again unless the answer carried them.
    if (!/\[CAPABILITY /i.test(answer.status)) await c.command('CAPABILITY');
    return c;
  }

  /**
   * ENABLE QRESYNC (RFC 7162 3.2.3), once per connection, when offered: true when the server enabled it (a NO or
   * BAD, e.g. from a server that takes ENABLE only before the first EXAMINE, RFC 5161 3.1, is false).
   */
  enableQresync(): Promise<boolean> {
    // The first call's answer serves every later one, also those made while it is on its way (two lanes' folders).
    this.qresync ??= this.caps.has('QRESYNC')
      ? this.command('ENABLE QRESYNC').then((r) => /^OK\b/i.test(r.status) && r.untagged.some((l) => /^\* ENABLED\b.*\bQRESYNC\b/i.test(l)))
      : Promise.resolve(false);
    return this.qresync;
  }

  private qresync: Promise<boolean> | undefined;

  /**
   * EXAMINE (read-only SELECT), with CONDSTORE when offered so HIGHESTMODSEQ is reported. With `since`
   * (after enableQresync): the QRESYNC parameter, so the UIDs expunged since that MODSEQ come back as `vanished`.
   */
  async examine(wire: string, since?: { uidValidity: number; modseq: bigint }): Promise<ExamineResult> {
    const condstore = this.caps.has('CONDSTORE');
    const param = since ? ` (QRESYNC (${since.uidValidity} ${since.modseq}))` : condstore ? ' (CONDSTORE)' : '';
    this.epoch++;
    this.selected = wire;
    const lines = await this.ok(`EXAMINE ${quoted(wire)}${param}`, `EXAMINE ${wire}`);
    const out: ExamineResult = { exists: 0, uidValidity: 0 };
    if (since) out.vanished = '';
    for (const l of lines) {
      const v = /^\* VANISHED \(EARLIER\) ([\d:,]+)/i.exec(l);
      if (v && out.vanished !== undefined) out.vanished += `${out.vanished ? ',' : ''}${v[1]!}`;
      let m = /^\* (\d+) EXISTS/i.exec(l);
      if (m) out.exists = Number(m[1]);
      m = /\[UIDVALIDITY (\d+)\]/i.exec(l);
      if (m) out.uidValidity = Number(m[1]);
      m = /\[UIDNEXT (\d+)\]/i.exec(l);
      if (m) out.uidNext = Number(m[1]);
      m = /\[HIGHESTMODSEQ (\d+)\]/i.exec(l);
      if (m) out.highestModseq = BigInt(m[1]!);
    }
    return out;
  }

  /**
   * UID FETCH of `set` with `items`; every answer is handed to `onItem` (answers
   * for UIDs outside `uids`, when given, are ignored). Resolves when the server's
   * tagged OK arrives.
   */
  async fetch(set: string, items: string, onItem: (item: FetchItem) => void, uids?: readonly number[], modifiers = ''): Promise<void> {
    // Without a UID list (a range like "lo:*"), answers are routed here by a catch-all sink.
    const catchAll = uids === undefined;
    const epoch = this.epoch;
    const all = { epoch, onItem };
    let sinks = this.fetchSinks.get(epoch);
    if (!sinks && !catchAll) this.fetchSinks.set(epoch, sinks = new Map());
    if (catchAll) this.catchAll.push(all);
    else claimSinks(sinks!, uids, onItem);
    try {
      await this.ok(`UID FETCH ${set} (${items})${modifiers}`, 'FETCH');
    } finally {
      if (catchAll) this.catchAll.splice(this.catchAll.indexOf(all), 1);
      else {
        releaseSinks(sinks!, uids, onItem);
        if (sinks!.size === 0) this.fetchSinks.delete(epoch);
      }
    }
  }

  private readonly catchAll: { epoch: number; onItem: (item: FetchItem) => void }[] = [];

  /** STATUS (MESSAGES UIDNEXT UIDVALIDITY) of a folder that is not the selected one; undefined when the server says NO. */
  async status(wire: string): Promise<{ messages?: number; uidNext?: number; uidValidity?: number } | undefined> {
    const r = await this.command(`STATUS ${quoted(wire)} (MESSAGES UIDNEXT UIDVALIDITY)`);
    if (!/^OK\b/i.test(r.status)) return undefined;
    const st = parseStatus(r.untagged);
    return st && { ...(st.MESSAGES !== undefined ? { messages: st.MESSAGES } : {}), ...(st.UIDNEXT !== undefined ? { uidNext: st.UIDNEXT } : {}),
      ...(st.UIDVALIDITY !== undefined ? { uidValidity: st.UIDVALIDITY } : {}) };
  }

  /** UID SEARCH: the matching UIDs, ascending. */
  async searchUids(criteria: string): Promise<number[]> {
    return parseSearch(await this.ok(`UID SEARCH ${criteria}`, 'SEARCH'));
  }

  /** Metadata of the UIDs in `set` (UID RFC822.SIZE FLAGS INTERNALDATE), ascending by UID. */
  async fetchMeta(set: string): Promise<MessageMeta[]> {
    const out = new Map<number, MessageMeta>();
    await this.fetch(set, 'UID RFC822.SIZE FLAGS INTERNALDATE', (x) => {
      // An unsolicited FETCH (a flag change by another session) has no RFC822.SIZE: not an answer to this command.
      if (x.size === undefined) return;
      out.set(x.uid, { uid: x.uid, size: x.size, flags: x.flags ?? [], ...(x.internalDate ? { internalDate: x.internalDate } : {}) });
    });
    return [...out.values()].sort((a, b) => a.uid - b.uid);
  }

  /** BODY.PEEK[] of the given UIDs: the exact bytes. Several calls may be in flight at once. */
  async fetchBodies(uids: readonly number[]): Promise<Map<number, Buffer>> {
    const out = new Map<number, Buffer>();
    if (uids.length === 0) return out;
    await this.fetch(uidSet(uids), 'UID BODY.PEEK[]', (x) => { if (x.body) out.set(x.uid, x.body); }, uids);
    return out;
  }

  close(): void {
    if (!this.closed) {
      this.closed = new Error('closed');
      this.sock.end('Z LOGOUT\r\n');
    }
  }

  /** Hook for routing: answers for UIDs no command claimed go to the range fetches in flight. */
  private route(item: FetchItem): void {
    const epoch = this.waiters[0]?.epoch ?? this.epoch;
    const sink = this.fetchSinks.get(epoch)?.get(item.uid);
    if (sink) sink(item);
    else for (const s of this.catchAll) if (s.epoch === epoch) s.onItem(item);
  }
}
