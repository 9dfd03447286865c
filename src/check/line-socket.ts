/**
 * The socket adapter of the SMTP/LMTP and IMAP checks: connect (plain or
 * implicit TLS), read CRLF-terminated lines, write, upgrade in place for
 * STARTTLS. Every wait names what it waits for on the Probe, and the Probe's
 * end destroys the socket, so a silent server is ended by the check deadline.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { MbError } from '../core/index.js';
import { CheckErrors, checkFailure } from './errors.js';
import type { Probe } from './probe.js';

const MAX_LINE = 64 * 1024;

export interface ConnectOptions {
  host: string;
  port: number;
  implicitTls: boolean;
  /** Accept any certificate (the system's tlsInsecure). */
  insecure: boolean;
}

export interface TlsInfo {
  protocol: string | null;
  cipher: string;
  authorized: boolean;
}

export class LineSocket {
  #sock: Socket;
  #buf = '';
  #failure: Error | undefined;
  #waiter: (() => void) | undefined;
  #onData = (d: Buffer): void => { this.#buf += d.toString('latin1'); this.#wake(); };
  #onError = (e: Error): void => { this.#failure ??= e; this.#wake(); };
  #onClose = (): void => {
    this.#failure ??= new MbError(CheckErrors.CHECK_CLOSED, 'connection closed by the server');
    this.#wake();
  };

  private constructor(sock: Socket) {
    this.#sock = sock;
    this.#attach();
  }

  /** Connects; with implicitTls the TLS handshake is part of connecting. */
  static async open(p: Probe, o: ConnectOptions): Promise<LineSocket> {
    p.step(o.implicitTls ? 'the TLS handshake' : 'the TCP connection');
    const sock = o.implicitTls
      ? tlsConnect({ host: o.host, port: o.port, ...tlsOptions(o.host, o.insecure) })
      : netConnect({ host: o.host, port: o.port });
    p.onEnd(() => sock.destroy());
    await new Promise<void>((resolve, reject) => {
      sock.once(o.implicitTls ? 'secureConnect' : 'connect', () => { sock.off('error', reject); resolve(); });
      sock.once('error', reject);
    });
    return new LineSocket(sock);
  }

  /** Reads one line without its CRLF. */
  async readLine(): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl).replace(/\r$/, '');
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      if (this.#buf.length > MAX_LINE) throw checkFailure('CHECK_PROTOCOL', `the server sent a line longer than ${MAX_LINE} bytes`);
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => { this.#waiter = resolve; });
    }
  }

  write(line: string): void {
    this.#sock.write(`${line}\r\n`, 'latin1');
  }

  /** STARTTLS: the command was answered positively; now the handshake on the same socket. */
  async upgrade(p: Probe, host: string, insecure: boolean): Promise<void> {
    p.step('the TLS handshake after STARTTLS');
    if (this.#buf.length > 0) {
      // RFC 3207 section 4.2 / RFC 9051 section 6.2.1: nothing may follow the positive answer in plain text.
      throw checkFailure('CHECK_TLS', 'the server sent plain text after its STARTTLS answer');
    }
    this.#detach();
    const plain = this.#sock;
    const secure = tlsConnect({ socket: plain, ...tlsOptions(host, insecure) });
    p.onEnd(() => secure.destroy());
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => { secure.off('error', reject); resolve(); });
      secure.once('error', reject);
      plain.on('error', reject); // the TLS socket reports it too; this keeps it from being unhandled
      plain.once('close', () => reject(new MbError(CheckErrors.CHECK_CLOSED, 'closed during the TLS handshake')));
    });
    this.#sock = secure;
    this.#attach();
  }

  tlsInfo(): TlsInfo | undefined {
    const s = this.#sock as Partial<TLSSocket>;
    if (typeof s.getProtocol !== 'function' || typeof s.getCipher !== 'function') return undefined;
    return { protocol: s.getProtocol(), cipher: s.getCipher().name, authorized: s.authorized === true };
  }

  close(): void {
    this.#detach();
    this.#sock.on('error', () => { /* closing: nothing left to report */ });
    this.#sock.destroy();
  }

  #attach(): void {
    this.#sock.on('data', this.#onData);
    this.#sock.on('error', this.#onError);
    this.#sock.on('close', this.#onClose);
  }

  #detach(): void {
    this.#sock.off('data', this.#onData);
    this.#sock.off('error', this.#onError);
    this.#sock.off('close', this.#onClose);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}

function tlsOptions(host: string, insecure: boolean): { servername?: string; rejectUnauthorized: boolean } {
  // SNI must be a host name, never an IP address (RFC 6066 section 3).
  return { ...(isIP(host) === 0 ? { servername: host } : {}), rejectUnauthorized: !insecure };
}
