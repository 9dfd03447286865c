/**
 * The mail probe: log in to the system's probe mailbox over IMAP first (a
 * server that is down fails here, before anything is queued for it), send a
 * probe message through the gateway (or straight to the system's SMTP/LMTP
 * endpoint when no gateway runs in this process), wait until the message is in
 * the INBOX, delete exactly that message (found by its own X-Mailbridge-Probe
 * token, never by anything a person could have sent), and measure the time from
 * submission to arrival.
 */
import { randomBytes } from 'node:crypto';
import { ImapFlow, type AuthOptions } from 'imapflow';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { ImapEndpoint, SmtpEndpoint } from '../config/index.js';
import type { Secret } from '../core/index.js';
import { isNetworkError, ProbeErrors, ProbeFailure, shortReason } from './errors.js';

export const PROBE_HEADER = 'X-Mailbridge-Probe';

/** Where the probe message is submitted. */
export type SubmitVia =
  | { kind: 'gateway'; host: string; port: number }
  | { kind: 'direct'; endpoint: SmtpEndpoint; tlsInsecure?: boolean };

export interface MailProbeTarget {
  system: string;
  address: string;
  imap: ImapEndpoint;
  /** The probe mailbox's own password; without it the master user of imap.admin logs in. */
  password?: Secret;
  tlsInsecure?: boolean;
  via: SubmitVia;
  /** The whole probe (login, submission, arrival, deletion) must finish within this. */
  timeoutMs: number;
  /** Our name in EHLO/LHLO. */
  hostname: string;
  /** Tokens of earlier probes of this system that may still arrive late (deleted when seen); updated in place. */
  outstanding?: Set<string>;
  /** How often the INBOX is searched while waiting (ms); default 200. */
  pollMs?: number;
}

export interface MailProbeOutcome {
  latencyMs: number;
  detail: string;
}

export function describeVia(via: SubmitVia): string {
  return via.kind === 'gateway' ? `through the gateway ${via.host}:${via.port}` : `directly to ${via.endpoint.protocol} ${via.endpoint.host}:${via.endpoint.port} (no gateway in this process)`;
}

function imapAuth(t: MailProbeTarget): AuthOptions {
  if (t.password) return { user: t.address, pass: t.password.reveal() };
  const admin = t.imap.admin;
  if (!admin) {
    throw new ProbeFailure(ProbeErrors.PROBE_NO_LOGIN, `no login for the probe mailbox: set probes.mailboxes.${t.system}.password or systems.${t.system}.imap.admin`);
  }
  if (admin.mode === 'authzid') return { user: admin.user, pass: admin.password.reveal(), authzid: t.address, loginMethod: 'AUTH=PLAIN' };
  return { user: `${t.address}*${admin.user}`, pass: admin.password.reveal() };
}

async function openImap(t: MailProbeTarget): Promise<ImapFlow> {
  const where = `imap ${t.imap.host}:${t.imap.port}`;
  const client = new ImapFlow({
    host: t.imap.host, port: t.imap.port, secure: t.imap.tls === 'implicit',
    doSTARTTLS: t.imap.tls === 'starttls' ? true : t.imap.tls === 'none' ? false : undefined,
    auth: imapAuth(t), logger: false, disableAutoIdle: true,
    ...(t.tlsInsecure ? { tls: { rejectUnauthorized: false } } : {}),
    connectionTimeout: t.timeoutMs, greetingTimeout: t.timeoutMs, socketTimeout: t.timeoutMs,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    if ((err as { authenticationFailed?: boolean }).authenticationFailed) {
      throw new ProbeFailure(ProbeErrors.PROBE_IMAP_LOGIN_FAILED, `${where}: login for the probe mailbox refused`);
    }
    if (isNetworkError(err)) throw new ProbeFailure(ProbeErrors.PROBE_IMAP_UNREACHABLE, `${where}: ${shortReason(err)}`);
    throw new ProbeFailure(ProbeErrors.PROBE_IMAP_FAILED, `${where}: ${shortReason(err)}`);
  }
  return client;
}

export function probeMessage(t: { address: string }, token: string, now: Date): { messageId: string; body: Buffer } {
  const domain = t.address.slice(t.address.lastIndexOf('@') + 1);
  const messageId = `<probe.${token}@${domain}>`;
  const lines = [
    `From: mailbridge probe <${t.address}>`,
    `To: <${t.address}>`,
    `Subject: mailbridge probe ${token.slice(0, 8)}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${messageId}`,
    `${PROBE_HEADER}: ${token}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Synthetic probe sent by mailbridge; it deletes this message when it sees it.',
    '',
  ];
  return { messageId, body: Buffer.from(lines.join('\r\n'), 'ascii') };
}

async function submit(t: MailProbeTarget, body: Buffer): Promise<void> {
  const v = t.via;
  const opts = v.kind === 'gateway'
    ? { host: v.host, port: v.port, lmtp: false, ignoreTLS: false, opportunisticTLS: true, tls: { rejectUnauthorized: false } }
    : {
      host: v.endpoint.host, port: v.endpoint.port, lmtp: v.endpoint.protocol === 'lmtp', secure: v.endpoint.tls === 'implicit',
      ignoreTLS: v.endpoint.tls === 'none', requireTLS: v.endpoint.tls === 'starttls', tls: { rejectUnauthorized: v.tlsInsecure !== true },
    };
  const conn = new SMTPConnection({ ...opts, name: t.hostname, connectionTimeout: t.timeoutMs, greetingTimeout: t.timeoutMs, socketTimeout: t.timeoutMs });
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    conn.on('error', () => undefined);
    // Null reverse-path (RFC 5321 section 4.5.5): a probe that cannot be delivered never bounces to anyone.
    await new Promise<void>((resolve, reject) => {
      conn.send({ from: '', to: [t.address] }, body, (err, info) => {
        if (err) reject(err);
        else if (info.rejected.length > 0) reject(Object.assign(new Error(String(info.rejectedErrors?.[0]?.response ?? 'recipient refused')), { responseText: info.rejectedErrors?.[0]?.response }));
        else resolve();
      });
    });
    conn.quit();
  } catch (err) {
    conn.close();
    throw new ProbeFailure(ProbeErrors.PROBE_SUBMIT_FAILED, `sending ${describeVia(v)}: ${shortReason(err)}`);
  }
}

async function findToken(client: ImapFlow, token: string): Promise<number[]> {
  const uids = await client.search({ header: { [PROBE_HEADER.toLowerCase()]: token } }, { uid: true });
  return Array.isArray(uids) ? uids : [];
}

/** Deletes (by UID) the messages that carry one of our tokens; returns the tokens found. */
async function sweep(client: ImapFlow, tokens: Set<string>): Promise<void> {
  for (const token of [...tokens]) {
    const uids = await findToken(client, token);
    if (uids.length === 0) continue;
    await client.messageDelete(uids, { uid: true });
    tokens.delete(token);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function probeMail(t: MailProbeTarget): Promise<MailProbeOutcome> {
  const deadline = Date.now() + t.timeoutMs;
  const client = await openImap(t);
  const outstanding = t.outstanding ?? new Set<string>();
  const token = randomBytes(12).toString('hex');
  try {
    try {
      await client.mailboxOpen('INBOX');
    } catch (err) {
      throw new ProbeFailure(ProbeErrors.PROBE_IMAP_FAILED, `imap ${t.imap.host}:${t.imap.port}: cannot open INBOX: ${shortReason(err)}`);
    }
    const { body } = probeMessage(t, token, new Date());
    const sent = performance.now();
    // Remembered before sending: if it arrives after our deadline, a later round deletes it.
    outstanding.add(token);
    await submit(t, body);
    for (;;) {
      const uids = await findToken(client, token);
      if (uids.length > 0) {
        const latencyMs = Math.round(performance.now() - sent);
        await client.messageDelete(uids, { uid: true });
        outstanding.delete(token);
        await sweep(client, outstanding).catch(() => undefined);
        return { latencyMs, detail: `delivered ${describeVia(t.via)} and read back over IMAP in ${latencyMs} ms` };
      }
      if (Date.now() >= deadline) {
        throw new ProbeFailure(ProbeErrors.PROBE_NOT_ARRIVED, `sent ${describeVia(t.via)} but not in the INBOX after ${Math.round(t.timeoutMs / 1000)} s`);
      }
      await sleep(t.pollMs ?? 200);
      await client.noop();
    }
  } catch (err) {
    if (err instanceof ProbeFailure) throw err;
    throw new ProbeFailure(ProbeErrors.PROBE_IMAP_FAILED, `imap ${t.imap.host}:${t.imap.port}: ${shortReason(err)}`);
  } finally {
    // Keep the list of late arrivals bounded when a system stays broken for long.
    while (outstanding.size > 50) outstanding.delete(outstanding.values().next().value!);
    await client.logout().catch(() => client.close());
  }
}
