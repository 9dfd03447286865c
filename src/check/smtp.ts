/**
 * SMTP/LMTP endpoint check: connect (plain or implicit TLS), 220 greeting,
 * EHLO (LHLO for LMTP, RFC 2033 section 4.1), STARTTLS and a second EHLO when
 * tls is "starttls" (RFC 3207 section 4.2: capabilities are forgotten after
 * the handshake), QUIT. Any reply that is not the expected 2xx fails the check
 * and quotes the server's line.
 */
import { hostname } from 'node:os';
import { checkFailure, remoteAnswer } from './errors.js';
import { LineSocket } from './line-socket.js';
import type { Probe } from './probe.js';
import type { CheckTarget } from './types.js';
import { ehloCapabilities, hasExtension, parseSmtpLine, smtpReplyText, type SmtpReply } from './wire.js';

type SmtpConfig = NonNullable<CheckTarget['smtp']>;

const MAX_REPLY_LINES = 200;

/** How many capabilities a summary shows before "...". */
const SUMMARY_CAPS = 8;

export async function checkSmtp(p: Probe, cfg: SmtpConfig, insecure: boolean): Promise<string> {
  const lmtp = cfg.protocol === 'lmtp';
  const hello = lmtp ? 'LHLO' : 'EHLO';
  const sock = await LineSocket.open(p, { host: cfg.host, port: cfg.port, implicitTls: cfg.tls === 'implicit', insecure });
  p.step('the greeting');
  const greeting = await readReply(sock);
  p.details.greeting = smtpReplyText(greeting);
  if (greeting.code !== 220) throw remoteAnswer({ protocol: 'smtp', step: 'the greeting', status: greeting.code, text: greeting.lines.join(' ') });

  let caps = await sayHello(p, sock, hello);
  const parts = [`${greeting.code} greeting`];
  if (cfg.tls === 'starttls') {
    if (!hasExtension(caps, 'STARTTLS')) {
      throw checkFailure('CHECK_TLS', `tls is starttls but the ${hello} answer does not offer STARTTLS (${caps.join(' ')})`);
    }
    p.step('the STARTTLS answer');
    sock.write('STARTTLS');
    const r = await readReply(sock);
    if (r.code !== 220) throw remoteAnswer({ protocol: 'smtp', step: 'STARTTLS', status: r.code, text: r.lines.join(' ') });
    await sock.upgrade(p, cfg.host, insecure);
    caps = await sayHello(p, sock, hello);
  }
  parts.push(`${hello} ok (${abbreviate(caps)})`);
  if (cfg.tls !== 'none') {
    const tls = sock.tlsInfo();
    p.details.tls = tls;
    parts.push(`${cfg.tls === 'starttls' ? 'STARTTLS' : 'TLS'} ok${tls?.protocol ? ` (${tls.protocol})` : ''}`);
  }
  p.details.capabilities = caps;

  p.step('the QUIT answer');
  sock.write('QUIT');
  const bye = await readReply(sock);
  if (bye.code < 200 || bye.code > 299) throw remoteAnswer({ protocol: 'smtp', step: 'QUIT', status: bye.code, text: bye.lines.join(' ') });
  sock.close();
  return parts.join(', ');
}

async function sayHello(p: Probe, sock: LineSocket, hello: 'EHLO' | 'LHLO'): Promise<string[]> {
  p.step(`the ${hello} answer`);
  sock.write(`${hello} ${heloName()}`);
  const r = await readReply(sock);
  if (r.code !== 250) throw remoteAnswer({ protocol: 'smtp', step: hello, status: r.code, text: r.lines.join(' ') });
  return ehloCapabilities(r);
}

/** A multi-line reply: lines "250-..." until "250 ..." (RFC 5321 section 4.2.1). */
export async function readReply(sock: LineSocket): Promise<SmtpReply> {
  const lines: string[] = [];
  for (;;) {
    const raw = await sock.readLine();
    const line = parseSmtpLine(raw);
    if (!line) throw checkFailure('CHECK_PROTOCOL', `not an SMTP reply: "${raw.slice(0, 120)}"`);
    lines.push(line.text);
    if (!line.more) return { code: line.code, lines };
    if (lines.length > MAX_REPLY_LINES) throw checkFailure('CHECK_PROTOCOL', `SMTP reply longer than ${MAX_REPLY_LINES} lines`);
  }
}

function abbreviate(caps: string[]): string {
  return caps.length > SUMMARY_CAPS ? `${caps.slice(0, SUMMARY_CAPS).join(' ')} ...` : caps.join(' ');
}

/** The EHLO argument: our host name when it is a plausible domain, else an address literal (RFC 5321 section 4.1.4). */
function heloName(): string {
  const h = hostname();
  return /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(h) ? h : '[127.0.0.1]';
}
