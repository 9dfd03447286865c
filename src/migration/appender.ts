/**
 * A pipelined APPEND connection to the target. imapflow keeps one command in
 * flight and sends literals over 4 KB synchronously (a round trip each), which
 * halves the copy rate; here every APPEND goes out at once as a non-synchronizing
 * literal (LITERAL+, RFC 7888), or literal8 when the message holds NUL bytes
 * (BINARY, RFC 3516 section 4.3), and the tagged answers are matched as they
 * come: OK [APPENDUID v uid] (UIDPLUS, RFC 4315) or NO/BAD, a refusal of that
 * message only. Used when the target offers LITERAL+; otherwise the engine
 * appends through imapflow.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { MbError } from '../core/index.js';
import type { ImapEndpoint } from '../config/index.js';
import { MigrationErrors } from './errors.js';
import type { AppendOutcome } from './imap-ops.js';
import { parseStatus, quoted } from './imap-parse.js';

type Sock = Socket | TLSSocket;

interface Waiter { resolve: (line: string) => void; reject: (err: Error) => void; untagged: string[] }

/** A flag that can be sent: an atom (RFC 3501 9: flag-keyword = atom, or "\" atom), ASCII only. */
export function isAtomFlag(f: string): boolean {
  return /^\\?[^\s(){%*"\\\]\x00-\x1f\x7f-\uffff]+$/.test(f);
}

/** Flags that are valid atoms; \Recent is never sent. The copier reports the others (copier.ts). */
export function flagList(flags: readonly string[]): string {
  return `(${flags.filter((f) => isAtomFlag(f) && f.toLowerCase() !== '\\recent').join(' ')})`;
}

/** "5:7,9" -> [5, 6, 7, 9] (RFC 4315 uid-set, in APPEND order). */
export function expandUidSet(set: string): number[] {
  const out: number[] = [];
  for (const part of set.split(',')) {
    const [a, b] = part.split(':').map(Number);
    if (b === undefined) out.push(a!);
    else for (let u = Math.min(a!, b); u <= Math.max(a!, b); u++) out.push(u);
  }
  return out;
}

/** `date`: RFC 3501 date-time text (MessageMeta.internalDate). */
type AppendItem = { body: Buffer; flags: readonly string[]; date?: string };

// The per-message loops of a MULTIAPPEND, outside the async method (see copier.ts splitBySize for why).

/** No empty message (a zero-length literal is refused inside MULTIAPPEND) and no NUL byte without BINARY. */
function multiAppendable(items: readonly AppendItem[], binary: boolean): boolean {
  for (const x of items) if (x.body.length === 0 || (!binary && x.body.indexOf(0) >= 0)) return false;
  return true;
}

/** The command's parts: the head with the first message's arguments, then each literal followed by the next arguments. */
function multiAppendParts(wireMailbox: string, items: readonly AppendItem[]): (string | Buffer)[] {
  const parts: (string | Buffer)[] = [];
  let head = `APPEND ${quoted(wireMailbox)}`;
  for (const x of items) {
    const lit = `${x.body.indexOf(0) >= 0 ? '~' : ''}{${x.body.length}+}\r\n`;
    parts.push(`${head} ${flagList(x.flags)}${x.date ? ` ${quoted(x.date)}` : ''} ${lit}`, x.body);
    head = '';
  }
  parts.push('\r\n');
  return parts;
}

/** OK [APPENDUID v uids]: the target UID of each message, in order (none when the set does not match the count). */
function multiAppendOutcomes(answer: string, n: number): AppendOutcome[] {
  const m = /\[APPENDUID \d+ ([\d:,]+)\]/i.exec(answer);
  const uids = m ? expandUidSet(m[1]!) : [];
  return Array.from({ length: n }, (_, i) => ({ ok: true, uid: uids.length === n ? uids[i]! : null }));
}

export class PipelinedAppender {
  private buf = '';
  /** The response being read when a server literal (`{n}` at a line's end) split it: its text so far, and the literal's size. */
  private acc = '';
  private litNeed = -1;
  private tag = 0;
  /** In the order sent: untagged answers go to the oldest command in flight (the server answers in order). */
  private readonly waiters = new Map<string, Waiter>();
  private capSet = new Set<string>();
  private closed: Error | undefined;

  private constructor(private sock: Sock) {
    this.attach(sock);
  }

  private attach(sock: Sock): void {
    // Pipelined small writes must not wait for delayed ACKs (Nagle).
    if ('setNoDelay' in sock) sock.setNoDelay(true);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new Error('connection closed')));
  }

  private fail(err: Error): void {
    this.closed ??= err;
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }

  private greeting: Waiter | undefined;

  private onData(d: string): void {
    this.buf += d;
    for (;;) {
      if (this.litNeed >= 0) {
        // Latin-1: one char per byte, so the literal is litNeed chars. It joins the line as a quoted string.
        if (this.buf.length < this.litNeed) return;
        this.acc += quoted(this.buf.slice(0, this.litNeed));
        this.buf = this.buf.slice(this.litNeed);
        this.litNeed = -1;
      }
      const i = this.buf.indexOf('\r\n');
      if (i < 0) return;
      const part = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const lit = /\{(\d+)\}$/.exec(part);
      if (lit && (this.acc || part).startsWith('* ')) {
        this.acc += part.slice(0, lit.index);
        this.litNeed = Number(lit[1]);
        continue;
      }
      const line = this.acc + part;
      this.acc = '';
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    if (line.startsWith('* ')) {
      const caps = /^\* (?:OK \[)?CAPABILITY ([^\]]*)/i.exec(line);
      if (caps) this.capSet = new Set(caps[1]!.toUpperCase().split(' '));
      if (this.greeting) { const g = this.greeting; this.greeting = undefined; g.resolve(line); }
      if (/^\* BYE/i.test(line)) this.fail(new Error(line));
      else this.waiters.values().next().value?.untagged.push(line);
      return;
    }
    const sp = line.indexOf(' ');
    const w = this.waiters.get(line.slice(0, sp));
    if (w) {
      this.waiters.delete(line.slice(0, sp));
      const caps = /^\S+ OK \[CAPABILITY ([^\]]*)\]/i.exec(line);
      if (caps) this.capSet = new Set(caps[1]!.toUpperCase().split(' '));
      w.resolve(line.slice(sp + 1));
    }
  }

  /** Sends one command (parts written in order); resolves with "OK ..." / "NO ..." / "BAD ..." and the untagged lines it caused. */
  private send(parts: (string | Buffer)[]): Promise<{ status: string; untagged: string[] }> {
    if (this.closed) return Promise.reject(this.closed);
    const tag = `A${++this.tag}`;
    const done = new Promise<{ status: string; untagged: string[] }>((resolve, reject) => {
      const w: Waiter = { resolve: (status) => resolve({ status, untagged: w.untagged }), reject, untagged: [] };
      this.waiters.set(tag, w);
    });
    // One segment per command where possible: head, literal and CRLF written corked.
    this.sock.cork();
    parts.forEach((p, i) => this.sock.write(i === 0 ? `${tag} ${p as string}` : p));
    this.sock.uncork();
    return done;
  }

  /** The tagged answer of a command sent as parts. */
  private async tagged(parts: (string | Buffer)[]): Promise<string> {
    return (await this.send(parts)).status;
  }

  /** One command line (LIST, STATUS, CREATE, ...: never a login); a lost connection is a transient error naming the command. */
  async command(line: string): Promise<{ status: string; untagged: string[] }> {
    try {
      return await this.send([`${line}\r\n`]);
    } catch (err) {
      throw new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `${line}: connection lost`, { retry: 'transient', cause: err });
    }
  }

  get caps(): ReadonlySet<string> {
    return this.capSet;
  }

  has(cap: string): boolean {
    return this.capSet.has(cap);
  }

  /** `system`: the configured system's name, for the errors (and throttling's side, throttle.ts). */
  static async open(ep: ImapEndpoint, auth: { user: string; pass: string; authzid?: string }, insecure = false, system?: string): Promise<PipelinedAppender> {
    const sock: Sock = ep.tls === 'implicit'
      ? tlsConnect({ host: ep.host, port: ep.port, servername: ep.host, rejectUnauthorized: !insecure })
      : netConnect({ host: ep.host, port: ep.port });
    const a = new PipelinedAppender(sock);
    const where = `${system ? `${system} ` : ''}imap ${ep.host}:${ep.port}`;
    const details = system ? { details: { system } } : {};
    const unreachable = (err: unknown) => new MbError(MigrationErrors.MIGRATION_CONNECT_FAILED, `${where}: unreachable`, { retry: 'transient', cause: err, ...details });
    try {
      await new Promise<string>((resolve, reject) => { a.greeting = { resolve, reject, untagged: [] }; sock.once('error', reject); });
    } catch (err) {
      throw unreachable(err);
    }
    if (ep.tls === 'starttls') {
      if (!(await a.tagged(['STARTTLS\r\n'])).startsWith('OK')) throw unreachable(new Error('STARTTLS refused'));
      sock.removeAllListeners('data');
      const secure = tlsConnect({ socket: sock, servername: ep.host, rejectUnauthorized: !insecure });
      await new Promise<void>((resolve, reject) => { secure.once('secureConnect', resolve); secure.once('error', reject); });
      a.sock = secure;
      a.attach(secure);
    }
    const answer = auth.authzid !== undefined
      ? await a.tagged([`AUTHENTICATE PLAIN ${Buffer.from(`${auth.authzid}\0${auth.user}\0${auth.pass}`).toString('base64')}\r\n`])
      : await a.tagged([`LOGIN ${quoted(auth.user)} ${quoted(auth.pass)}\r\n`]);
    if (!answer.startsWith('OK')) {
      a.close();
      throw new MbError(MigrationErrors.MIGRATION_LOGIN_FAILED, `${where}: login refused for the APPEND connection`, details);
    }
    // Capabilities may change with the login (RFC 3501 6.2.3): ask again unless the answer carried them.
    if (!/\[CAPABILITY /i.test(answer)) await a.tagged(['CAPABILITY\r\n']);
    return a;
  }

  /** APPEND to a wire (modified UTF-7) mailbox name; never waits for the previous APPEND. */
  async append(wireMailbox: string, body: Buffer, flags: readonly string[], date?: string): Promise<AppendOutcome> {
    const nul = body.indexOf(0) >= 0;
    if (nul && !this.capSet.has('BINARY')) return { ok: false, reason: 'contains NUL bytes and the target does not offer BINARY' };
    const literal = `${nul ? '~' : ''}{${body.length}+}\r\n`;
    const head = `APPEND ${quoted(wireMailbox)} ${flagList(flags)}${date ? ` ${quoted(date)}` : ''} ${literal}`;
    let answer: string;
    try {
      answer = await this.tagged([head, body, '\r\n']);
    } catch (err) {
      throw new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `APPEND to ${wireMailbox}: connection lost`, { retry: 'transient', cause: err });
    }
    if (answer.startsWith('OK')) {
      const m = /\[APPENDUID \d+ (\d+)\]/i.exec(answer);
      return { ok: true, uid: m ? Number(m[1]) : null };
    }
    return { ok: false, reason: answer.split(/\r?\n/)[0]! };
  }

  /**
   * MULTIAPPEND (RFC 3502): the whole list in one command, so the server saves
   * it in one transaction (one fsync instead of one per message: most of the
   * difference to dsync's speed). All or nothing: when the server refuses the
   * command, each message is appended alone so only the bad one is refused.
   */
  async appendMany(wireMailbox: string, items: readonly AppendItem[]): Promise<AppendOutcome[]> {
    const single = () => Promise.all(items.map((x) => this.append(wireMailbox, x.body, x.flags, x.date)));
    if (items.length < 2 || !this.capSet.has('MULTIAPPEND') || !multiAppendable(items, this.capSet.has('BINARY'))) return single();
    let answer: string;
    try {
      answer = await this.tagged(multiAppendParts(wireMailbox, items));
    } catch (err) {
      throw new MbError(MigrationErrors.MIGRATION_IMAP_FAILED, `APPEND to ${wireMailbox}: connection lost`, { retry: 'transient', cause: err });
    }
    return answer.startsWith('OK') ? multiAppendOutcomes(answer, items.length) : single();
  }

  /** A simple command with a quoted mailbox argument (CREATE, SUBSCRIBE): the server's tagged answer, "OK ..." / "NO ...". */
  async mailboxCommand(verb: 'CREATE' | 'SUBSCRIBE', wireMailbox: string): Promise<string> {
    return (await this.command(`${verb} ${quoted(wireMailbox)}`)).status;
  }

  /**
   * STATUS (MESSAGES UIDVALIDITY) of a wire mailbox name, on this connection: a target folder's count and
   * UIDVALIDITY without a SELECT on the control session (which is opened only when a folder needs it).
   * Undefined when the server says NO (e.g. the folder does not exist).
   */
  async status(wireMailbox: string): Promise<{ exists: number; uidValidity: number } | undefined> {
    const r = await this.command(`STATUS ${quoted(wireMailbox)} (MESSAGES UIDVALIDITY)`);
    if (!r.status.startsWith('OK')) return undefined;
    const st = parseStatus(r.untagged);
    return st?.MESSAGES !== undefined && st.UIDVALIDITY !== undefined ? { exists: st.MESSAGES, uidValidity: st.UIDVALIDITY } : undefined;
  }

  /** Resolves once every APPEND sent so far is answered, and the socket has room again. */
  drained(): Promise<void> {
    if (this.sock.writableNeedDrain) return new Promise((resolve) => this.sock.once('drain', () => resolve()));
    return Promise.resolve();
  }

  close(): void {
    if (!this.closed) {
      this.sock.end('Z LOGOUT\r\n');
      this.closed = new Error('closed');
    }
  }
}
