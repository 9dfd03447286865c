import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { MbError } from '../../core/index.js';
import { buildDsn, foldHeader, formatDate, has8bit, shouldSendDsn, type DsnInput } from './dsn.js';

const ORIGINAL = Buffer.from(
  'From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nHi Bob.\r\n',
);

function base(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'gw.example.com',
    arrivalDate: new Date('2025-03-04T05:06:07Z'),
    envId: 'QQ314159',
    originalMessage: ORIGINAL,
    ret: 'FULL',
    recipients: [{
      finalRecipient: 'bob@example.com',
      originalRecipient: 'rfc822;bob+2Bx@example.com',
      action: 'failed',
      status: '5.1.1',
      remoteMta: 'mail.example.com',
      diagnosticCode: 'smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown',
      lastAttempt: new Date('2025-03-04T05:06:09Z'),
    }],
    from: 'MAILER-DAEMON@gw.example.com',
    to: 'alice@example.org',
    date: new Date('2025-03-04T05:06:10Z'),
    messageId: '<dsn1@gw.example.com>',
    boundary: 'BOUNDARY',
    ...over,
  };
}

/** Splits the report at its boundary: [head+preamble, part1, part2, part3]. */
function parts(buf: Buffer, boundary = 'BOUNDARY'): string[] {
  const s = buf.toString('latin1');
  assert.ok(s.endsWith(`\r\n--${boundary}--\r\n`), 'closing delimiter');
  return s.slice(0, -(`\r\n--${boundary}--\r\n`.length)).split(`\r\n--${boundary}\r\n`);
}

test('a failure report, byte by byte where it matters', () => {
  const out = buildDsn(base());
  const s = out.toString('latin1');
  assert.doesNotMatch(s.replace(/\r\n/g, ''), /[\r\n]/, 'CRLF everywhere');
  const [head, text, status, original] = parts(out);
  assert.equal(head,
    'From: Mail Delivery System <MAILER-DAEMON@gw.example.com>\r\n' +
    'To: <alice@example.org>\r\n' +
    'Subject: Undelivered Mail Returned to Sender\r\n' +
    'Date: Tue, 04 Mar 2025 05:06:10 +0000\r\n' +
    'Message-ID: <dsn1@gw.example.com>\r\n' +
    'Auto-Submitted: auto-replied\r\n' +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="BOUNDARY"\r\n' +
    'Content-Transfer-Encoding: 7bit\r\n' +
    '\r\n' +
    'This is a MIME-encapsulated message.\r\n');
  assert.match(text ?? '', /^Content-Description: Notification\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n/);
  assert.match(text ?? '', /<bob@example\.com>: delivery failed permanently \(status 5\.1\.1\)/);
  assert.match(text ?? '', /mail\.example\.com said: 550 5\.1\.1/);
  assert.match(text ?? '', /The original message is attached\./);
  assert.equal(status,
    'Content-Description: Delivery report\r\n' +
    'Content-Type: message/delivery-status\r\n' +
    '\r\n' +
    'Reporting-MTA: dns; gw.example.com\r\n' +
    'Original-Envelope-Id: QQ314159\r\n' +
    'Arrival-Date: Tue, 04 Mar 2025 05:06:07 +0000\r\n' +
    '\r\n' +
    'Original-Recipient: rfc822; bob+x@example.com\r\n' +
    'Final-Recipient: rfc822; bob@example.com\r\n' +
    'Action: failed\r\n' +
    'Status: 5.1.1\r\n' +
    'Remote-MTA: dns; mail.example.com\r\n' +
    'Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: Recipient address\r\n rejected: User unknown\r\n' +
    'Last-Attempt-Date: Tue, 04 Mar 2025 05:06:09 +0000\r\n');
  assert.equal(original,
    'Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
    ORIGINAL.toString('latin1'));
});

test('RET=HDRS returns the header section as text/rfc822-headers', () => {
  const [, text, , original] = parts(buildDsn(base({ ret: 'HDRS' })));
  assert.match(text ?? '', /The header of the original message is attached\./);
  assert.equal(original,
    'Content-Description: Message Headers\r\nContent-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
    'From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n');
});

test('an original over maxOriginalBytes is returned as headers, and the text says so', () => {
  const [, text, , original] = parts(buildDsn(base({ maxOriginalBytes: 50 })));
  assert.match(text ?? '', /too large to return/);
  assert.match(original ?? '', /^Content-Description: Message Headers\r\nContent-Type: text\/rfc822-headers/);
  assert.doesNotMatch(original ?? '', /Hi Bob/);
});

test('a delay report: subject, 4.x.x status, Will-Retry-Until, headers only (RFC 3461 4.3)', () => {
  const out = buildDsn(base({
    recipients: [{ finalRecipient: 'bob@example.com', action: 'delayed', status: '4.4.1', diagnosticCode: 'smtp; 451 4.4.1 No answer',
      willRetryUntil: new Date('2025-03-09T05:06:07Z') }],
  }));
  const [head, text, status, original] = parts(out);
  assert.match(head ?? '', /^Subject: Delayed Mail \(still being retried\)\r$/m);
  assert.match(text ?? '', /keeps trying until Sun, 09 Mar 2025 05:06:07 \+0000/);
  assert.match(status ?? '', /^Action: delayed\r\nStatus: 4\.4\.1\r$/m);
  assert.match(status ?? '', /^Will-Retry-Until: Sun, 09 Mar 2025 05:06:07 \+0000\r$/m);
  assert.match(original ?? '', /Content-Type: text\/rfc822-headers/);
});

test('8-bit original: message/rfc822 and the multipart say 8bit (RFC 2045 6.4, RFC 2046 5.2.1)', () => {
  const eight = Buffer.concat([Buffer.from('Subject: caf'), Buffer.from('é', 'utf8'), Buffer.from('\r\n\r\nJ\u00e9', 'latin1'), Buffer.from('\r\n')]);
  const out = buildDsn(base({ originalMessage: eight }));
  assert.equal(has8bit(out), true);
  const [head, , , original] = parts(out);
  assert.match(head ?? '', /^Content-Transfer-Encoding: 8bit\r$/m);
  assert.match(original ?? '', /^Content-Type: message\/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n/m);
  assert.ok(out.includes(eight), 'the original bytes are kept as they are');
});

test('8-bit original for a peer without 8BITMIME: headers, quoted-printable, all 7-bit', () => {
  const eight = Buffer.from('Subject: caf\u00e9\r\n\r\nbody \u00e9\r\n', 'utf8');
  const out = buildDsn(base({ originalMessage: eight, sevenBitOnly: true }));
  assert.equal(has8bit(out), false);
  const [head, text, , original] = parts(out);
  assert.match(head ?? '', /^Content-Transfer-Encoding: 7bit\r$/m);
  assert.match(text ?? '', /8-bit data this path cannot carry/);
  assert.match(original ?? '', /Content-Type: text\/rfc822-headers\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: caf=C3=A9\r\n$/);
});

test('non-ASCII recipient: utf-8 address type (RFC 6533), delivery-status stays ASCII', () => {
  const out = buildDsn(base({ recipients: [{ finalRecipient: 'jörg@example.com', action: 'failed', status: '5.1.1' }] }));
  const [, text, status] = parts(out);
  assert.match(status ?? '', /^Final-Recipient: utf-8; j\\x\{F6\}rg@example\.com\r$/m);
  assert.match(text ?? '', /^Content-Transfer-Encoding: 8bit\r$/m);
  assert.equal(/[^\x00-\x7f]/.test(status ?? ''), false);
});

test('remote text cannot inject header lines', () => {
  const out = buildDsn(base({
    recipients: [{ finalRecipient: 'bob@example.com', action: 'failed', status: '5.0.0',
      diagnosticCode: 'smtp; 550 no\r\nAction: delivered\r\nX: y', remoteMta: 'evil\r\nStatus: 2.0.0' }],
  }));
  const [, , status] = parts(out);
  assert.equal((status ?? '').match(/^Action:/gm)?.length, 1);
  assert.equal((status ?? '').match(/^Status:/gm)?.length, 1);
});

test('several recipients: one block each, subject by the worst outcome', () => {
  const out = buildDsn(base({
    recipients: [
      { finalRecipient: 'a@example.com', action: 'delivered', status: '2.0.0' },
      { finalRecipient: 'rfc822;b@example.com', action: 'failed', status: '5.2.2', diagnosticCode: '552 5.2.2 Mailbox is full' },
    ],
  }));
  const [head, , status] = parts(out);
  assert.match(head ?? '', /Subject: Undelivered Mail Returned to Sender/);
  // Part headers, the per-message fields, then one block per recipient.
  assert.equal((status ?? '').split('\r\n\r\n').length, 4);
  assert.match(status ?? '', /^Final-Recipient: rfc822; b@example\.com\r$/m);
  assert.match(status ?? '', /^Diagnostic-Code: smtp; 552 5\.2\.2 Mailbox is full\r$/m);
});

test('the boundary never occurs in the original; the default is deterministic', () => {
  const tricky = Buffer.from('Subject: x\r\n\r\n--BOUNDARY\r\n');
  const out = buildDsn(base({ originalMessage: tricky }));
  assert.match(out.toString(), /boundary="BOUNDARY_1"/);
  const a = buildDsn(base({ boundary: undefined }));
  const b = buildDsn(base({ boundary: undefined }));
  assert.ok(a.equals(b));
  assert.match(a.toString(), /boundary="=_mb_[0-9a-f]{24}"/);
});

test('bare LF in the original becomes CRLF', () => {
  const out = buildDsn(base({ originalMessage: Buffer.from('Subject: x\n\nline\n') }));
  assert.ok(out.includes('Subject: x\r\n\r\nline\r\n'));
  assert.doesNotMatch(out.toString('latin1').replace(/\r\n/g, ''), /\n/);
});

test('inputs that cannot make a valid report are refused', () => {
  assert.throws(() => buildDsn(base({ recipients: [] })), (e) => MbError.is(e, 'SMTP_DSN_INVALID'));
  assert.throws(() => buildDsn(base({ recipients: [{ finalRecipient: 'a@b.c', action: 'failed', status: '4.1.1' }] })), /does not fit/);
  assert.throws(() => buildDsn(base({ recipients: [{ finalRecipient: 'a@b.c', action: 'delayed', status: '4.1' }] })), /RFC 3463/);
});

test('an envelope id that is not printable ASCII goes out as xtext', () => {
  const [, , status] = parts(buildDsn(base({ envId: 'a b+c' })));
  assert.match(status ?? '', /^Original-Envelope-Id: a\+20b\+2Bc\r$/m);
});

test('formatDate and foldHeader', () => {
  assert.equal(formatDate(new Date('2024-02-29T23:59:58Z')), 'Thu, 29 Feb 2024 23:59:58 +0000');
  const folded = foldHeader('Subject', 'word '.repeat(30).trim());
  for (const line of folded.split('\r\n').slice(0, -1)) assert.ok(line.length <= 78, line);
  assert.match(folded, /^Subject: word/);
  assert.match(folded, /\r\n word/);
  assert.equal(foldHeader('X', 'a\r\nb'), 'X: a b\r\n');
});

test('shouldSendDsn: the four refusals and the ordinary case', () => {
  const h = (headers: Record<string, string | string[]> = {}) => ({ envelopeFrom: 'alice@example.org', headers });
  assert.deepEqual(shouldSendDsn(h()), { send: true });
  assert.deepEqual(shouldSendDsn({ envelopeFrom: '', headers: {} }), { send: false, reason: 'null sender' });
  assert.deepEqual(shouldSendDsn({ envelopeFrom: '<>', headers: {} }), { send: false, reason: 'null sender' });
  assert.deepEqual(shouldSendDsn({ envelopeFrom: '<MAILER-DAEMON@mx.example.org>', headers: {} }), { send: false, reason: 'sender is MAILER-DAEMON' });
  assert.deepEqual(shouldSendDsn(h({ 'content-type': 'multipart/report; report-type="delivery-status"; boundary=x' })), { send: false, reason: 'message is a DSN' });
  assert.deepEqual(shouldSendDsn(h({ 'content-type': 'Multipart/Report; boundary=x;\r\n REPORT-TYPE=delivery-status' })), { send: false, reason: 'message is a DSN' });
  assert.deepEqual(shouldSendDsn({ ...h(), isDsn: true }), { send: false, reason: 'message is a DSN' });
  assert.deepEqual(shouldSendDsn(h({ 'auto-submitted': 'auto-replied' })), { send: false, reason: 'Auto-Submitted: auto-replied' });
  assert.deepEqual(shouldSendDsn(h({ 'auto-submitted': ['Auto-Generated; owner-email="x@y"'] })), { send: false, reason: 'Auto-Submitted: auto-generated' });
});

test('shouldSendDsn: what does not suppress', () => {
  const h = (headers: Record<string, string>) => ({ envelopeFrom: 'alice@example.org', headers });
  assert.equal(shouldSendDsn(h({ 'auto-submitted': 'no' })).send, true);
  assert.equal(shouldSendDsn(h({ 'auto-submitted': 'No (manual)' })).send, true);
  assert.equal(shouldSendDsn(h({ 'content-type': 'multipart/report; report-type=disposition-notification' })).send, true);
  assert.equal(shouldSendDsn(h({ 'content-type': 'multipart/mixed; boundary=x' })).send, true);
  assert.equal(shouldSendDsn({ envelopeFrom: 'mailer-daemon-fan@example.org', headers: {} }).send, true);
  assert.equal(shouldSendDsn(h({ 'auto-submitted': 'auto-generated' }), { honourAutoSubmitted: false }).send, true);
});

test('a MIME parser (mailparser) reads the report: notice and status inline, the original attached', async () => {
  const mail = await simpleParser(buildDsn(base({ boundary: undefined })));
  assert.equal(mail.subject, 'Undelivered Mail Returned to Sender');
  assert.equal(mail.headers.get('auto-submitted'), 'auto-replied');
  // mailparser shows message/delivery-status as text after the notice.
  assert.match(mail.text ?? '', /delivery failed permanently[\s\S]*Final-Recipient: rfc822; bob@example\.com/);
  assert.deepEqual(mail.attachments.map((a) => a.contentType), ['message/rfc822']);
  assert.equal(mail.attachments[0]?.content.toString('latin1'), ORIGINAL.toString('latin1'));
});
