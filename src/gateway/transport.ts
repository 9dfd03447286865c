/**
 * Per-destination connection pools over nodemailer's SMTPConnection (SMTP, or
 * LMTP with one answer per recipient). A pool keeps up to `concurrency`
 * connections, reuses an idle one for the next transaction, closes it after an
 * idle while, and never reuses a connection that failed mid-transaction.
 */
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { TlsMode } from '../config/index.js';
import { installFastDotStuffing } from '../protocol/smtp/dot-stuff.js';

// nodemailer's DATA encoder, same bytes out, found with indexOf instead of a loop per byte.
installFastDotStuffing();

export interface Destination {
  /** "system:legacy" or "external". */
  key: string;
  host: string;
  port: number;
  lmtp: boolean;
  tls: TlsMode;
  /** Accept self-signed certificates (systems.*.tlsInsecure; lab). */
  insecure: boolean;
  maxMessageSize?: number;
  concurrency: number;
}

export interface SendEnvelope {
  from: string;
  to: string[];
  size: number;
  use8BitMime: boolean;
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: string[]; orcpt?: string };
}

/** Per recipient (by address as sent): accepted with the reply, or the error nodemailer gave for it. */
export interface SendOutcome {
  response: string;
  accepted: string[];
  rejected: { address: string; error: SMTPConnection.SMTPError }[];
}

interface PooledConnection {
  conn: SMTPConnection;
  idleTimer?: NodeJS.Timeout;
  broken: boolean;
}

const IDLE_CLOSE_MS = 5_000;

function connectOnce(d: Destination, name: string): Promise<SMTPConnection> {
  const conn = new SMTPConnection({
    host: d.host,
    port: d.port,
    lmtp: d.lmtp,
    name,
    secure: d.tls === 'implicit',
    ignoreTLS: d.tls === 'none',
    requireTLS: d.tls === 'starttls',
    tls: { rejectUnauthorized: !d.insecure },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    conn.once('error', onError);
    conn.connect(() => {
      conn.removeListener('error', onError);
      // Later socket errors surface through send()'s callback; keep them from crashing the process.
      conn.on('error', () => undefined);
      resolve(conn);
    });
  });
}

export class DestinationPool {
  readonly #idle: PooledConnection[] = [];
  #active = 0;
  readonly #waiters: (() => void)[] = [];
  #closed = false;

  constructor(readonly dest: Destination, private readonly hostname: string) {}

  async #acquire(): Promise<void> {
    if (this.#active < this.dest.concurrency) {
      this.#active++;
      return;
    }
    await new Promise<void>((r) => this.#waiters.push(r));
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#active--;
  }

  /**
   * One transaction. Throws what nodemailer throws (connection errors, all
   * recipients refused). `body` as parts is streamed in order, not joined.
   */
  async send(env: SendEnvelope, body: Buffer | readonly Buffer[]): Promise<SendOutcome> {
    await this.#acquire();
    let pc: PooledConnection | undefined;
    try {
      pc = this.#idle.pop();
      if (pc?.idleTimer) clearTimeout(pc.idleTimer);
      if (!pc) pc = { conn: await connectOnce(this.dest, this.hostname), broken: false };
      const conn = pc.conn;
      const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
        conn.send({ from: env.from, to: env.to, size: env.size, use8BitMime: env.use8BitMime, ...(env.dsn ? { dsn: env.dsn as SMTPConnection.DSNOptions } : {}) },
          Buffer.isBuffer(body) ? body : Readable.from(body, { objectMode: false }), (err, i) => (err ? reject(err) : resolve(i)));
      });
      const rejected = (info.rejectedErrors ?? []).map((e) => ({ address: String((e as { recipient?: string }).recipient ?? ''), error: e }));
      return { response: String(info.response ?? ''), accepted: info.accepted.map(String), rejected };
    } catch (err) {
      if (pc) pc.broken = true;
      throw err;
    } finally {
      if (pc) this.#park(pc);
      this.#release();
    }
  }

  #park(pc: PooledConnection): void {
    if (pc.broken || this.#closed) {
      pc.conn.close();
      return;
    }
    pc.idleTimer = setTimeout(() => {
      const i = this.#idle.indexOf(pc);
      if (i >= 0) this.#idle.splice(i, 1);
      pc.conn.quit();
    }, IDLE_CLOSE_MS);
    pc.idleTimer.unref();
    this.#idle.push(pc);
  }

  close(): void {
    this.#closed = true;
    for (const pc of this.#idle.splice(0)) {
      if (pc.idleTimer) clearTimeout(pc.idleTimer);
      pc.conn.quit();
    }
  }
}
