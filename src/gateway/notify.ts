/**
 * The gateway's DSNs (RFC 3464 via protocol/smtp buildDsn): which recipients
 * a report covers (RFC 3461 NOTIFY; absent means FAILURE,DELAY), whether one
 * may be sent at all (shouldSendDsn: never to the null sender, to a DSN, or to
 * Auto-Submitted mail), and the envelope it is queued with (null sender).
 */
import { randomBytes } from 'node:crypto';
import { buildDsn, parseReply, shouldSendDsn, type DsnRecipient } from '../protocol/smtp/index.js';
import type { QueuedMessage, SpoolEnvelope, SpoolRecipient } from '../spool/index.js';
import { splitMessage, fieldValue } from './headers.js';

export type NotifyKind = 'failed' | 'delayed';

export function wantsNotice(r: SpoolRecipient, kind: NotifyKind): boolean {
  const n = r.notify;
  if (!n || n.length === 0) return true; // RFC 3461 4.1: default FAILURE and DELAY
  return n.includes(kind === 'failed' ? 'FAILURE' : 'DELAY');
}

export interface NoticeRecipient {
  index: number;
  reply?: string;
  remoteMta?: string;
  /** For expiry: RFC 3463 5.4.7. */
  status?: string;
}

/** The RFC 3463 status for a report line: the remote's enhanced code when its class fits, else a generic one. */
export function statusFor(kind: NotifyKind, reply: string | undefined, fallback?: string): string {
  if (fallback) return fallback;
  const r = reply ? parseReply(reply) : undefined;
  const want = kind === 'failed' ? '5' : '4';
  if (r?.enhanced && r.enhanced.startsWith(want)) return r.enhanced;
  return kind === 'failed' ? '5.0.0' : '4.0.0';
}

function headerMap(body: Buffer): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of splitMessage(body).fields) (out[f.name] ??= []).push(fieldValue(f));
  return out;
}

export interface NoticeInput {
  message: QueuedMessage;
  body: Buffer;
  kind: NotifyKind;
  recipients: NoticeRecipient[];
  reportingMta: string;
  now: Date;
  willRetryUntil?: Date;
}

/** The DSN to queue, or why none is sent. */
export function makeNotice(input: NoticeInput): { envelope: SpoolEnvelope; body: Buffer } | { suppressed: string } {
  const { message: m, kind } = input;
  const rcpts = input.recipients.filter((r) => {
    const sr = m.envelope.recipients[r.index];
    return sr !== undefined && wantsNotice(sr, kind);
  });
  if (rcpts.length === 0) return { suppressed: 'NOTIFY excludes it' };
  const headers = headerMap(input.body);
  const verdict = shouldSendDsn({ envelopeFrom: m.envelope.from, headers, isDsn: m.envelope.isDsn === true });
  if (!verdict.send) return { suppressed: verdict.reason ?? 'policy' };
  const lines: DsnRecipient[] = rcpts.map((r) => {
    const sr = m.envelope.recipients[r.index]!;
    return {
      finalRecipient: sr.address,
      ...(sr.orcpt ? { originalRecipient: sr.orcpt } : {}),
      action: kind,
      status: statusFor(kind, r.reply, r.status),
      ...(r.remoteMta ? { remoteMta: r.remoteMta } : {}),
      ...(r.reply ? { diagnosticCode: `smtp; ${r.reply}` } : {}),
      lastAttempt: input.now,
      ...(kind === 'delayed' && input.willRetryUntil ? { willRetryUntil: input.willRetryUntil } : {}),
    };
  });
  const body = buildDsn({
    reportingMta: input.reportingMta,
    arrivalDate: new Date(m.receivedAt),
    ...(m.envelope.envid !== undefined ? { envId: m.envelope.envid } : {}),
    originalMessage: input.body,
    ret: m.envelope.ret ?? 'FULL',
    recipients: lines,
    from: `MAILER-DAEMON@${input.reportingMta}`,
    to: m.envelope.from,
    date: input.now,
    messageId: `<${m.id}.${randomBytes(4).toString('hex')}.dsn@${input.reportingMta}>`,
    maxOriginalBytes: 10_000_000,
  });
  const envelope: SpoolEnvelope = {
    from: '',
    recipients: [{ address: m.envelope.from, notify: ['NEVER'] }],
    source: { kind: 'dsn' },
    isDsn: true,
    bodyType: body.some((b) => b >= 0x80) ? '8bitmime' : '7bit',
  };
  return { envelope, body };
}
