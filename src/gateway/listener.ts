/**
 * The SMTP listener: smtp-server with our policy. Every refusal comes from the
 * Reply catalogue through toSmtpServerError (smtp-server's fallback `|| 550`
 * never decides), every unexpected error becomes 451 4.3.0 (replyForError).
 *
 * What smtp-server does for us (read in its smtp-stream.js / smtp-connection.js
 * 3.21): DATA ends only on CRLF.CRLF; commands pipelined behind STARTTLS are
 * dropped while the handshake runs; PIPELINING, 8BITMIME, SMTPUTF8 and DSN
 * parameters are parsed. What it does not do, and we do: bare LF / bare CR /
 * NUL / long text lines (DataGuard), the 5.3.4 wording of its size refusal and
 * the 500 for an over-long command line (replyRewrites below), and AUTH left
 * out of EHLO before STARTTLS (smtp-server lists it, then refuses it with 538).
 */
import { BlockList, isIPv6 } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { logEvent } from '../observe/index.js';
import {
  formatDate, isNullPath, parseMailbox, rejection, Reply, relayTrick, replyForError, sendContext, SMTP_SERVER_REPLY_OPTIONS, toSmtpServerError, xtextEncode,
  type Reply as ReplyT,
} from '../protocol/smtp/index.js';
import type { Spool, SpoolEnvelope, SpoolRecipient, QueuedMessage } from '../spool/index.js';
import { DataGuard } from './data-guard.js';
import { firstValue, isInternal, messageParts, routeHash, signedRoutes, splitMessageParts } from './headers.js';
import type { GatewayMetrics } from './metrics.js';
import { destinationKey, type Route, type Router } from './router.js';
import { installFastDataScan } from '../protocol/smtp/data-scan.js';

// smtp-server's DATA reader, same rules, the "<LF>." search done by Buffer.indexOf (see data-scan.ts).
installFastDataScan();

export interface ListenerOptions {
  hostname: string;
  maxMessageSize: number;
  hopLimit: number;
  relayNetworks: readonly string[];
  tls?: { key: Buffer; cert: Buffer };
  /** Offer AUTH PLAIN/LOGIN (only after STARTTLS); checks a user name and password. */
  authenticate?: (user: string, password: string) => Promise<boolean>;
  /** How long stop() waits for open sessions (ms). */
  closeTimeoutMs?: number;
  /** RCPT TO:<Postmaster> without a domain means postmaster at this domain (RFC 5321 4.5.1). */
  postmasterDomain?: string;
  /** Valid signed hop headers for one route at or above this count are a loop (5.4.6). */
  loopThreshold?: number;
  /** Pause before the 220 greeting (ms); a command sent before it gets 421. Default 0: greet at once. */
  greetPauseMs?: number;
}

export interface ListenerDeps {
  router: Router;
  spool: Spool;
  log: Logger;
  metrics: GatewayMetrics;
  hopKey: Buffer;
  /** Called after a message is durable and answered 250 (delivery wake-up, tracking). */
  onQueued: (m: QueuedMessage, routes: Map<string, Route>) => void;
}

interface SessionState {
  trusted: boolean;
  routes: Map<string, Route>;
}

/** smtp-server replies we word ourselves: [code, text pattern] -> our reply. */
const REPLY_REWRITES: readonly { code: number; text: RegExp; reply: () => ReplyT }[] = [
  { code: 552, text: /exceeds fixed maximum message size/, reply: Reply.sizeExceeded },
  { code: 421, text: /Command line too long/, reply: Reply.lineTooLong },
  { code: 501, text: /Bad recipient address syntax/, reply: () => Reply.badAddressSyntax('recipient') },
  { code: 501, text: /Bad sender address syntax/, reply: () => Reply.badAddressSyntax('sender') },
];

/** The parts of smtp-server's (internal) SMTPConnection we hook; pinned by test/integration/gateway tests. */
interface PatchableConnection {
  secure: boolean;
  _closing: boolean;
  _closed: boolean;
  connectionReady(next?: () => void): void;
  send(code: number, data?: string | string[] | false, context?: string | false): void;
}

/** smtp-server lists AUTH in EHLO in plaintext too; we offer it only inside TLS (it refuses AUTH there with 538). */
function hideAuthBeforeTls(conn: PatchableConnection, code: number, data: string | string[] | false | undefined): string | string[] | false | undefined {
  if (code !== 250 || !Array.isArray(data) || conn.secure) return data;
  return data.filter((line) => !/^AUTH\b/i.test(line));
}

export function buildRelayList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}

function inList(list: BlockList, ip: string): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (v4) return list.check(v4, 'ipv4');
  return list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
}

function receivedHeader(s: SMTPServerSession, hostname: string, id: string, rcpts: string[], now: Date): string {
  const proto = `${s.envelope.smtpUtf8 ? 'UTF8' : ''}${s.transmissionType === 'SMTP' ? 'SMTP' : 'ESMTP'}${s.secure ? 'S' : ''}${s.user ? 'A' : ''}`
    .replace(/^UTF8ESMTP/, 'UTF8SMTP');
  const helo = (s.hostNameAppearsAs || 'unknown').replace(/[^\x21-\x7e]/g, '');
  const rdns = (s.clientHostname || 'unknown').replace(/^\[.*\]$/, 'unknown').replace(/[^\x21-\x7e]/g, '');
  const forPart = rcpts.length === 1 ? `\r\n\tfor <${rcpts[0]}>` : '';
  return `Received: from ${helo} (${rdns} [${s.remoteAddress}])\r\n\tby ${hostname} (mailbridge) with ${proto} id ${id}${forPart};\r\n\t${formatDate(now)}\r\n`;
}

export class GatewayListener {
  readonly server: SMTPServer;
  readonly #sessions = new Map<string, SessionState>();
  readonly #relay: BlockList;

  constructor(private readonly opts: ListenerOptions, private readonly deps: ListenerDeps) {
    this.#relay = buildRelayList(opts.relayNetworks);
    const auth = opts.authenticate !== undefined && opts.tls !== undefined;
    this.server = new SMTPServer({
      ...SMTP_SERVER_REPLY_OPTIONS,
      name: opts.hostname,
      banner: 'mailbridge gateway',
      logger: false,
      size: opts.maxMessageSize,
      // RFC 5321 4.5.3.1.4: a command line is at most 512 octets with its CRLF.
      maxCommandLength: 510,
      hideREQUIRETLS: true,
      hideDSN: false,
      // No reverse DNS per connection: the relay policy trusts addresses, never names, and a
      // slow resolver would stall every session (Postfix: smtpd_peername_lookup = no).
      disableReverseLookup: true,
      // On stop, sessions still open after this get 421 and are closed (the sender retries).
      closeTimeout: opts.closeTimeoutMs ?? 5_000,
      ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : { hideSTARTTLS: true }),
      disabledCommands: [...(opts.tls ? [] : ['STARTTLS']), ...(auth ? [] : ['AUTH'])],
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: true,
      allowInsecureAuth: false,
      onConnect: (s, cb) => this.#onConnect(s, cb),
      onAuth: (a, s, cb) => {
        const check = opts.authenticate ?? (() => Promise.resolve(false));
        check(a.username ?? '', a.password ?? '').then(
          (ok) => (ok ? cb(null, { user: a.username }) : cb(toSmtpServerError(Reply.authFailed()))),
          () => cb(toSmtpServerError(Reply.authTemporary())),
        );
      },
      onMailFrom: (a, s, cb) => this.#onMailFrom(a, s, cb),
      onRcptTo: (a, s, cb) => {
        this.#onRcptTo(a, s).then((r) => cb(r ? toSmtpServerError(r) : undefined), (err: unknown) => cb(toSmtpServerError(replyForError(err))));
      },
      onData: (stream, s, cb) => this.#onData(stream, s, cb),
      onClose: (s) => {
        this.#sessions.delete(s.id);
      },
    });
    this.server.on('error', (err) => logEvent(deps.log, 'gateway.listener.error', { err }));
    this.#patchReplies();
  }

  /**
   * Per connection: rewrites the few replies smtp-server words itself (see
   * REPLY_REWRITES), and greets after `greetPauseMs` instead of smtp-server's
   * fixed 100 ms early-talker pause. That pause capped the gateway at 10
   * messages per second per client session (smtp-source sends one message per
   * connection: 20 sessions, at most 200 msg/s; bench/gateway measured 178),
   * while Postfix's smtpd greets at once and leaves pre-greeting checks to
   * postscreen. A client that talks before the greeting still gets 421.
   */
  #patchReplies(): void {
    const server = this.server as unknown as { connect(socket: unknown, opts: unknown): void; connections: Set<PatchableConnection> };
    const connect = server.connect.bind(server);
    const pause = this.opts.greetPauseMs ?? 0;
    server.connect = (socket, o) => {
      connect(socket, o);
      let conn: PatchableConnection | undefined;
      for (const c of server.connections) conn = c; // the newest: a Set iterates in insertion order
      if (!conn) return;
      // init() has set up the socket (a plain listener: no TLS to wait for) and armed the library's
      // 100 ms timer, which calls connectionReady; that call now does nothing, ours greets.
      const ready = conn.connectionReady.bind(conn);
      conn.connectionReady = () => undefined;
      const c = conn;
      const greet = (): void => { if (!c._closing && !c._closed) ready(); };
      if (pause === 0) greet();
      else setTimeout(greet, pause).unref();
      const send = conn.send.bind(conn);
      conn.send = (code, raw, context) => {
        const data = hideAuthBeforeTls(conn, code, raw);
        const text = Array.isArray(data) ? data.join(' ') : (data || '');
        const rw = REPLY_REWRITES.find((x) => x.code === code && x.text.test(text));
        if (!rw) return send(code, data, sendContext(data, context));
        const e = toSmtpServerError(rw.reply());
        send(e.responseCode, e.message, false);
      };
    };
  }

  listen(port: number, host: string): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        const a = this.server.server.address();
        resolve({ port: typeof a === 'object' && a ? a.port : port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #state(s: SMTPServerSession): SessionState {
    let st = this.#sessions.get(s.id);
    if (!st) {
      st = { trusted: inList(this.#relay, s.remoteAddress), routes: new Map() };
      this.#sessions.set(s.id, st);
    }
    return st;
  }

  #onConnect(s: SMTPServerSession, cb: (err?: Error | null) => void): void {
    this.#state(s);
    cb();
  }

  #onMailFrom(a: SMTPServerAddress, s: SMTPServerSession, cb: (err?: Error | null) => void): void {
    this.#state(s).routes.clear();
    const args = a.args === false ? {} : (a.args as Record<string, string>);
    const size = Number(args.SIZE ?? 0);
    if (size > this.opts.maxMessageSize) return cb(toSmtpServerError(Reply.sizeExceeded()));
    if (a.address === '' || isNullPath(`<${a.address}>`)) return cb();
    const p = parseMailbox(a.address, { role: 'sender', smtputf8: s.envelope.smtpUtf8 === true });
    cb(p.ok ? undefined : toSmtpServerError(p.reply));
  }

  /** undefined: accepted. */
  async #onRcptTo(a: SMTPServerAddress, s: SMTPServerSession): Promise<ReplyT | undefined> {
    const st = this.#state(s);
    const m = this.deps.metrics.rcpt;
    const p = parseMailbox(a.address, { smtputf8: s.envelope.smtpUtf8 === true, ...(this.opts.postmasterDomain ? { postmasterDomain: this.opts.postmasterDomain } : {}) });
    if (!p.ok) { m.inc({ result: 'syntax' }); return p.reply; }
    const local = this.deps.router.isLocalDomain(p.domain);
    const trusted = st.trusted || Boolean(s.user);
    if (local) {
      const trick = relayTrick(a.address);
      if (trick) { m.inc({ result: 'relay_denied' }); return Reply.routingDenied(trick); }
    } else if (!trusted) {
      m.inc({ result: 'relay_denied' });
      return Reply.relayDenied();
    }
    let route: Route;
    try {
      route = await this.deps.router.route(`${p.local}@${p.domain}`);
    } catch (err) {
      m.inc({ result: 'tempfail' });
      throw err;
    }
    if (route.kind === 'unknown') { m.inc({ result: 'unknown' }); return Reply.mailboxUnknown(); }
    st.routes.set(a.address.toLowerCase(), route);
    m.inc({ result: 'accepted' });
    return undefined;
  }

  #onData(stream: SMTPServerDataStream, s: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
    const guard = new DataGuard(this.opts.maxMessageSize);
    stream.on('data', (c: Buffer) => guard.push(c));
    stream.on('end', () => {
      const refused = stream.sizeExceeded ? Reply.messageTooBig() : guard.finish();
      if (refused) {
        this.deps.metrics.received.inc({ result: 'refused' });
        logEvent(this.deps.log, 'gateway.message.refused', { sid: s.id, code: refused.code, enhanced: refused.enhanced, reason: refused.text });
        return cb(toSmtpServerError(refused));
      }
      this.#accept(guard.parts(), s).then(
        (id) => cb(null, `2.0.0 Ok: queued as ${id}`),
        (err: unknown) => {
          const r = replyForError(err);
          this.deps.metrics.received.inc({ result: r.code >= 500 ? 'refused' : 'failed' });
          if (r.code < 500) logEvent(this.deps.log, 'gateway.spool.failed', { sid: s.id, err });
          cb(toSmtpServerError(r));
        },
      );
    });
  }

  async #accept(raw: readonly Buffer[], s: SMTPServerSession): Promise<string> {
    const st = this.#state(s);
    const split = splitMessageParts(raw);
    const received = split.fields.filter((f) => f.name === 'received').length;
    if (received >= this.opts.hopLimit) throw rejectionOf(Reply.tooManyHops());
    const messageId = firstValue(split.fields, 'message-id') ?? '';
    const seen = signedRoutes(split.fields, this.deps.hopKey, messageId);
    const threshold = this.opts.loopThreshold ?? 2;
    for (const route of st.routes.values()) {
      const key = destinationKey(route);
      if (key && seen.filter((h) => h === routeHash(this.deps.hopKey, key)).length >= threshold) {
        logEvent(this.deps.log, 'gateway.loop.detected', { sid: s.id, destination: key, messageId });
        throw rejectionOf(Reply.loopDetected());
      }
    }
    // Internal headers are ours to set; from outside they are forged (header firewall).
    const trusted = st.trusted || Boolean(s.user);
    const kept = trusted ? split.fields : split.fields.filter((f) => !isInternal(f));
    const rcpts: SpoolRecipient[] = s.envelope.rcptTo.map((r) => {
      const dsn = (r as SMTPServerAddress & { dsn?: { notify?: string[]; orcpt?: string } }).dsn;
      return { address: r.address, ...(dsn?.notify ? { notify: dsn.notify } : {}), ...(dsn?.orcpt ? { orcpt: encodeOrcpt(dsn.orcpt) } : {}) };
    });
    const id = this.deps.spool.newId();
    const body = messageParts([receivedHeader(s, this.opts.hostname, id, rcpts.map((r) => r.address), new Date())], kept, split.rest);
    const envDsn = (s.envelope as { dsn?: { ret?: string | null; envid?: string | null } }).dsn;
    const from = s.envelope.mailFrom ? s.envelope.mailFrom.address : '';
    const envelope: SpoolEnvelope = {
      from,
      recipients: rcpts,
      ...(envDsn?.ret === 'FULL' || envDsn?.ret === 'HDRS' ? { ret: envDsn.ret } : {}),
      // smtp-server has already xtext-decoded every parameter value (smtp-connection.js _parseAddressCommand).
      ...(envDsn?.envid ? { envid: envDsn.envid } : {}),
      bodyType: (s.envelope as { bodyType?: string }).bodyType === '8bitmime' ? '8bitmime' : '7bit',
      smtputf8: s.envelope.smtpUtf8 === true,
      source: { kind: 'smtp', ip: s.remoteAddress, helo: s.hostNameAppearsAs, ...(s.user ? { user: String(s.user) } : {}) },
      ...(messageId ? { messageId } : {}),
    };
    const t0 = performance.now();
    const m = await this.deps.spool.enqueue(envelope, body, id);
    this.deps.metrics.spoolCommit.observe((performance.now() - t0) / 1000);
    this.deps.metrics.received.inc({ result: 'queued' });
    const routes = new Map(st.routes);
    this.deps.onQueued(m, routes);
    return m.id;
  }
}

/** smtp-server hands ORCPT over decoded; the spool keeps it as on the wire, "type;xtext" (RFC 3461 4.2). */
function encodeOrcpt(decoded: string): string {
  const semi = decoded.indexOf(';');
  return semi < 0 ? decoded : `${decoded.slice(0, semi)};${xtextEncode(decoded.slice(semi + 1))}`;
}

function rejectionOf(r: ReplyT): Error {
  return rejection(r);
}
