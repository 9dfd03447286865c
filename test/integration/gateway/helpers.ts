/**
 * What the gateway tests share: a recording SMTP/LMTP sink (smtp-server), a raw
 * socket client for byte-exact dialogues, and a gateway started in-process on
 * port 0 with a config made for the test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { silentLogger, createMetrics } from '../../../src/observe/index.js';
import type { GatewayConfig, SystemConfig } from '../../../src/config/index.js';
import { CsvResolver, Gateway, type GatewayOptions, type RecipientResolver } from '../../../src/gateway/index.js';

export interface AfterHost { after(fn: () => Promise<void> | void): unknown }

export interface SunkMessage {
  from: string;
  to: string[];
  body: Buffer;
}

export interface Sink {
  port: number;
  messages: SunkMessage[];
  connections: number;
  close(): Promise<void>;
  /** Resolves when at least n messages arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
}

export interface SinkOptions {
  lmtp?: boolean;
  port?: number;
  /** An SMTP reply line ("550 5.1.1 no") to refuse a recipient at RCPT (SMTP) or after DATA (LMTP). */
  refuse?: (rcpt: string) => string | undefined;
  /** Wait this long before answering the end of DATA (a slow backend). */
  delayMs?: number;
}

function replyError(line: string): Error & { responseCode: number } {
  const e = new Error(line.slice(4)) as Error & { responseCode: number };
  e.responseCode = Number(line.slice(0, 3));
  return e;
}

export async function startSink(t: AfterHost, opts: SinkOptions = {}): Promise<Sink> {
  const messages: SunkMessage[] = [];
  const waiters: (() => void)[] = [];
  const sink: Sink = {
    port: 0, messages, connections: 0,
    close: () => new Promise((r) => server.close(() => r())),
    waitFor: (n, timeoutMs = 20_000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sink: ${messages.length} of ${n} messages after ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        if (messages.length >= n) { clearTimeout(timer); resolve(); } else waiters.push(check);
      };
      check();
    }),
  };
  const server: SMTPServer = new SMTPServer({
    lmtp: opts.lmtp === true, authOptional: true, closeTimeout: 300, disabledCommands: ['STARTTLS', 'AUTH'], logger: false, hideENHANCEDSTATUSCODES: true,
    onConnect: (_s, cb) => { sink.connections++; cb(); },
    onRcptTo: (a, _s, cb) => {
      const r = !opts.lmtp ? opts.refuse?.(a.address) : undefined;
      cb(r ? replyError(r) : undefined);
    },
    onData: (stream, s, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = s.envelope.rcptTo.map((r) => r.address);
        const answers = to.map((rcpt) => (opts.lmtp ? opts.refuse?.(rcpt) : undefined));
        const ok = to.filter((_, i) => !answers[i]);
        const answer = (): void => {
          // Recorded when it answers: a backend killed off before its 250 has not taken the message.
          if (ok.length) messages.push({ from: s.envelope.mailFrom ? s.envelope.mailFrom.address : '', to: ok, body: Buffer.concat(chunks) });
          for (const w of waiters.splice(0)) w();
          if (opts.lmtp) cb(null, answers.map((a) => (a ? replyError(a) : 'Ok')) as unknown as string);
          else cb();
        };
        if (opts.delayMs) setTimeout(answer, opts.delayMs);
        else answer();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  const a = server.server.address();
  sink.port = typeof a === 'object' && a ? a.port : 0;
  t.after(() => sink.close());
  return sink;
}

/** A byte-exact SMTP dialogue over a raw socket. */
export class RawClient {
  #buf = '';
  #waiters: (() => void)[] = [];
  #closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.#buf += d.toString('latin1'); for (const w of this.#waiters.splice(0)) w(); });
    socket.on('close', () => { this.#closed = true; for (const w of this.#waiters.splice(0)) w(); });
    socket.on('error', () => undefined);
  }

  /** A client on a socket that may not be connected yet (writes are queued until it is): the greeting is not awaited. */
  static wrap(socket: Socket): RawClient {
    return new RawClient(socket);
  }

  static async open(port: number): Promise<{ client: RawClient; greeting: string }> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r, j) => { socket.once('connect', () => r()); socket.once('error', j); });
    const client = new RawClient(socket);
    return { client, greeting: await client.reply() };
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** The next complete reply (all its lines), or '' when the server closed. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.#buf);
      if (m) {
        this.#buf = this.#buf.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.#closed) return '';
      if (Date.now() > deadline) throw new Error(`no reply; buffered: ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((r) => { this.#waiters.push(r); setTimeout(r, 200).unref(); });
    }
  }

  /** Sends a line (CRLF added) and returns the reply. */
  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface TestGatewayOptions {
  systems?: Record<string, SystemConfig>;
  /** people per system, written as CSV files */
  people?: Record<string, string[]>;
  resolver?: RecipientResolver;
  gateway?: Partial<GatewayConfig>;
  spool?: string;
  tickMs?: number;
  /** Key and certificate (PEM) for STARTTLS. */
  tls?: { key: Buffer; cert: Buffer };
  /** SMTP AUTH check (offered only with tls and `gateway.auth`). */
  authenticate?: (user: string, password: string) => Promise<boolean>;
}

export interface TestGateway {
  gw: Gateway;
  port: number;
  spoolDir: string;
  dir: string;
  stop(): Promise<void>;
}

export function tempDir(t: AfterHost, prefix = 'mb-gw-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function baseGatewayConfig(dir: string, over: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    listen: [{ host: '127.0.0.1', port: 0 }],
    spool: join(dir, 'spool'),
    relayNetworks: ['127.0.0.0/8'],
    maxMessageSize: 1_000_000,
    hopLimit: 50,
    greetPause: 0,
    retry: { schedule: [60_000], maxAge: 5 * 86_400_000, warnAfter: 4 * 3_600_000 },
    routing: { mode: 'central' },
    trackingRetention: 30 * 86_400_000,
    hostname: 'gw.test',
    ...over,
  };
}

export async function startGateway(t: AfterHost, o: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = tempDir(t);
  const files: Record<string, string> = {};
  for (const [system, people] of Object.entries(o.people ?? {})) {
    files[system] = join(dir, `${system}.csv`);
    writeFileSync(files[system], `address,name,aliases\n${people.join('\n')}\n`);
  }
  const config = baseGatewayConfig(dir, { ...o.gateway, ...(o.spool ? { spool: o.spool } : {}) });
  const opts: GatewayOptions = {
    config, domains: ['example.com'], systems: o.systems ?? {},
    resolver: o.resolver ?? new CsvResolver(files, ['example.com']),
    log: silentLogger(), registry: createMetrics({ defaults: false }).registry, tickMs: o.tickMs ?? 100, closeTimeoutMs: 300,
    ...(o.tls ? { tls: o.tls } : {}), ...(o.authenticate ? { authenticate: o.authenticate } : {}),
  };
  const gw = await Gateway.start(opts);
  let stopped = false;
  const stop = async (): Promise<void> => { if (!stopped) { stopped = true; await gw.stop(); } };
  t.after(stop);
  return { gw, port: gw.ports[0]!, spoolDir: config.spool, dir, stop };
}

export function smtpSystem(port: number, lmtp = false): SystemConfig {
  return { name: 'x', smtp: { host: '127.0.0.1', port, protocol: lmtp ? 'lmtp' : 'smtp', tls: 'none' } };
}

/** One message over a raw socket; returns the reply to the end of DATA (or the first refusal). */
export async function sendRaw(port: number, from: string, to: string[], data: string, ehlo = 'client.test'): Promise<string> {
  const { client } = await RawClient.open(port);
  try {
    await client.cmd(`EHLO ${ehlo}`);
    const m = await client.cmd(`MAIL FROM:<${from}>`);
    if (!m.startsWith('250')) return m;
    let ok = 0;
    let last = '';
    for (const r of to) {
      last = await client.cmd(`RCPT TO:<${r}>`);
      if (last.startsWith('250')) ok++;
    }
    if (ok === 0) return last;
    const d = await client.cmd('DATA');
    if (!d.startsWith('354')) return d;
    client.write(data.endsWith('\r\n') ? `${data}.\r\n` : `${data}\r\n.\r\n`);
    const r = await client.reply();
    await client.cmd('QUIT').catch(() => '');
    return r;
  } finally {
    client.close();
  }
}

/** The DSN parameters a next hop was given: MAIL's and each RCPT's. */
export interface SeenDsn { mail: Record<string, string>; rcpts: { address: string; args: Record<string, string> }[] }

/** An SMTP (or LMTP) server offering DSN that records the MAIL and RCPT parameters of each transaction. */
export async function dsnRecorder(t: AfterHost, opts: { lmtp?: boolean } = {}): Promise<{ port: number; seen: SeenDsn[] }> {
  const seen: SeenDsn[] = [];
  const server = new SMTPServer({
    lmtp: opts.lmtp === true, hideDSN: false, authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false, closeTimeout: 300,
    onData: (stream, s, cb) => {
      stream.resume();
      stream.on('end', () => {
        const mailArgs = s.envelope.mailFrom ? s.envelope.mailFrom.args : false;
        seen.push({
          mail: mailArgs === false ? {} : (mailArgs as Record<string, string>),
          rcpts: s.envelope.rcptTo.map((r) => ({ address: r.address, args: r.args === false ? {} : (r.args as Record<string, string>) })),
        });
        // LMTP answers once per recipient.
        if (opts.lmtp) cb(null, s.envelope.rcptTo.map(() => 'Ok') as unknown as string);
        else cb();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, seen };
}
