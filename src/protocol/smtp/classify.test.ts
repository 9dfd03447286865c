import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REMOTE_ROWS, classifyError, classifyRemote, classifyReply, type RemoteAction, type RemoteFacts } from './classify.js';

/**
 * One real-world example per row: a reply as a server sends it, or the error
 * facts of a failed connection. The table test below fails when a row has no
 * example here, or when its example is taken by an earlier row.
 */
const EXAMPLES: Record<string, { wire?: string; facts?: RemoteFacts; action: RemoteAction }> = {
  'too-many-recipients-552': { wire: '552 Too many recipients', action: 'retry' },
  'too-many-recipients': { wire: '452 4.5.3 Error: too many recipients', action: 'retry' },
  'too-many-recipients-text': { wire: '452 Too many recipients received this hour', action: 'retry' },
  'tls-required': { wire: '530 5.7.0 Must issue a STARTTLS command first', action: 'retry' },
  'auth-required': { wire: '530 5.7.0 Authentication required', action: 'retry' },
  'auth-failed': { wire: '535 5.7.8 Error: authentication failed: authentication failure', action: 'retry' },
  greylisting: { wire: '450 4.2.0 <a@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html', action: 'retry' },
  'rate-limit': { wire: '450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.', action: 'retry' },
  'rate-limit-421-policy': { wire: '421 4.7.0 Try again later, closing connection. (EHLO)', action: 'retry' },
  'network-421': { wire: '421 4.4.2 mx.example.com Error: timeout exceeded', action: 'retry' },
  'server-temp-421': { wire: '421 mx.example.com Service not available, closing transmission channel', action: 'retry' },
  blocklist: { wire: '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org', action: 'fail' },
  'relay-denied': { wire: '554 5.7.1 <user@elsewhere.example>: Relay access denied', action: 'fail' },
  'mailbox-full': { wire: '552 5.2.2 <user@example.com> Quota exceeded (mailbox for user is full)', action: 'fail' },
  'recipient-temp': { wire: '450 4.1.1 <user@example.com>: Recipient address rejected: unverified address: host mx[192.0.2.5] said: 451 try later', action: 'retry' },
  'mailbox-unknown': { wire: '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table', action: 'fail' },
  address: { wire: '501 5.1.3 Bad recipient address syntax', action: 'fail' },
  'mailbox-disabled': { wire: '550 5.2.1 The email account that you tried to reach is disabled.', action: 'fail' },
  virus: { wire: '554 5.7.0 Rejected: message contains a virus (Eicar-Signature)', action: 'fail' },
  spam: { wire: '550 5.7.1 Message rejected as spam by Content Filtering.', action: 'fail' },
  'spam-554-5.7.1': { wire: '554 5.7.1 Message refused', action: 'fail' },
  policy: { wire: '550 5.7.1 Delivery not authorized, message refused', action: 'fail' },
  size: { wire: '552 5.3.4 Message size exceeds fixed limit', action: 'fail' },
  loop: { wire: '554 5.4.6 Hop count exceeded - possible mail loop', action: 'fail' },
  'network-temp': { wire: '451 4.4.1 No answer from host', action: 'retry' },
  routing: { wire: '550 5.4.4 Unable to route', action: 'fail' },
  'server-temp': { wire: '451 4.3.0 <user@example.com> Temporary internal error', action: 'retry' },
  content: { wire: '554 5.6.0 Message content rejected', action: 'fail' },
  protocol: { wire: '503 5.5.1 Error: need MAIL command', action: 'fail' },
  'mailbox-full-text': { wire: '552 Requested mail action aborted: exceeded storage allocation', action: 'fail' },
  'mailbox-unknown-text': { wire: '550 Requested action not taken: no such user here', action: 'fail' },
  'size-text': { wire: '552 Message size exceeds maximum permitted', action: 'fail' },
  'loop-text': { wire: '554 Too many hops', action: 'fail' },
  'protocol-50x': { wire: '502 Command not implemented', action: 'fail' },
  'ambiguous-5xx': { wire: '550 Please try again later', action: 'fail' },
  econnrefused: { facts: { errorCodes: ['ECONNREFUSED'] }, action: 'retry' },
  econnreset: { facts: { errorCodes: ['ECONNRESET'] }, action: 'retry' },
  etimedout: { facts: { errorCodes: ['ETIMEDOUT'] }, action: 'retry' },
  unreachable: { facts: { errorCodes: ['EHOSTUNREACH'] }, action: 'retry' },
  'broken-pipe': { facts: { errorCodes: ['EPIPE'] }, action: 'retry' },
  dns: { facts: { errorCodes: ['ENOTFOUND'] }, action: 'retry' },
  tls: { facts: { errorCodes: ['ERR_SSL_WRONG_VERSION_NUMBER'] }, action: 'retry' },
  'auth-client': { facts: { errorCodes: ['EAUTH'], text: 'Missing credentials for "PLAIN"' }, action: 'retry' },
  'protocol-client': { facts: { errorCodes: ['EPROTOCOL'], text: 'Invalid greeting' }, action: 'retry' },
  'size-announced': { facts: { errorCodes: ['EMESSAGE'], text: 'Message size larger than allowed 10485760' }, action: 'fail' },
  socket: { facts: { errorCodes: ['ESOCKET'] }, action: 'retry' },
};

test('every row has an example, and its example lands on it (one test per row)', async (t) => {
  const names = REMOTE_ROWS.map((r) => r.name);
  assert.equal(new Set(names).size, names.length, 'row names are unique');
  assert.deepEqual(Object.keys(EXAMPLES).sort(), [...names].sort(), 'examples and rows are the same set');
  for (const row of REMOTE_ROWS) {
    await t.test(row.name, () => {
      const ex = EXAMPLES[row.name];
      assert.ok(ex);
      const got = ex.wire !== undefined ? classifyReply(ex.wire) : classifyRemote(ex.facts ?? {});
      assert.equal(got.rule, row.name);
      assert.equal(got.category, row.category);
      assert.equal(got.action, ex.action);
    });
  }
});

test('the basic code decides: no 4xx ever fails', () => {
  for (const row of REMOTE_ROWS) {
    const ex = EXAMPLES[row.name];
    if (!ex?.wire) continue;
    const as4xx = ex.wire.replace(/^5(\d\d)/, '4$1').replace(/ 5\.(\d)/, ' 4.$1');
    assert.equal(classifyReply(as4xx).action, 'retry', as4xx);
  }
});

test('mailbox full: Gmail 452 4.2.2 retries, Dovecot LMTP 552 5.2.2 fails', () => {
  assert.deepEqual(classifyReply('452-4.2.2 The email account that you tried to reach is over quota.\r\n452 4.2.2 Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp'),
    { action: 'retry', category: 'mailbox-full', rule: 'mailbox-full' });
  assert.equal(classifyReply('552 5.2.2 <u@example.com> Mailbox is full').action, 'fail');
  assert.equal(classifyReply('452 4.2.2 <u@example.com> Quota exceeded (mailbox for user is full)').action, 'retry');
});

test('too many recipients: retry the rest in a new transaction at once', () => {
  assert.equal(classifyReply('452 4.5.3 Error: too many recipients').newTransaction, true);
  assert.equal(classifyReply('552 5.5.3 Too many recipients').action, 'retry');
  assert.equal(classifyReply('550 5.1.1 nope').newTransaction, undefined);
});

test('defaults per class when no row matches', () => {
  assert.deepEqual(classifyReply('554 Transaction failed'), { action: 'fail', category: 'rejected', rule: 'default-5xx' });
  assert.deepEqual(classifyReply('450 Requested mail action not taken'), { action: 'retry', category: 'server-temp', rule: 'default-4xx' });
  assert.deepEqual(classifyReply('450 Requested mail action not taken', 'rcpt'), { action: 'retry', category: 'recipient-temp', rule: 'default-4xx-rcpt' });
  assert.deepEqual(classifyReply('250 Ok'), { action: 'retry', category: 'protocol', rule: 'default-unexpected' });
  assert.deepEqual(classifyRemote({}), { action: 'retry', category: 'unknown', rule: 'default-unknown' });
  assert.deepEqual(classifyReply('garbage'), { action: 'retry', category: 'unknown', rule: 'default-unknown' });
});

test('an enhanced code of the wrong class is ignored (RFC 2034)', () => {
  const r = classifyReply('450 5.1.1 odd server');
  assert.equal(r.action, 'retry');
  assert.notEqual(r.rule, 'mailbox-unknown');
  assert.equal(classifyRemote({ code: 550, enhanced: '4.2.2', text: 'x' }).rule, 'default-5xx');
  assert.equal(classifyRemote({ code: 550, enhanced: 'garbage', text: 'x' }).rule, 'default-5xx');
});

test('a 5xx saying "try again later" still fails', () => {
  assert.deepEqual(classifyReply('554 5.0.0 Service temporarily unavailable, try again later'),
    { action: 'fail', category: 'ambiguous', rule: 'ambiguous-5xx' });
});

test('reply rows never match an error without a reply', () => {
  // "does not exist" in a socket error message is not a mailbox-unknown.
  assert.equal(classifyRemote({ text: 'mailbox does not exist, user unknown', errorCodes: ['ECONNRESET'] }).rule, 'econnreset');
  assert.equal(classifyRemote({ text: 'user unknown' }).rule, 'default-unknown');
});

test('classifyError: nodemailer errors with a response', () => {
  const err = Object.assign(new Error("Can't send mail - all recipients were rejected: 550 5.1.1 <x@example.com>: User unknown"), {
    code: 'EENVELOPE', response: '550 5.1.1 <x@example.com>: User unknown', responseCode: 550, command: 'RCPT TO',
  });
  assert.deepEqual(classifyError(err, 'rcpt'), { action: 'fail', category: 'mailbox-unknown', rule: 'mailbox-unknown' });
});

test('classifyError: the socket code under nodemailer wrappers and causes', () => {
  const wrapped = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET', originalCode: 'ECONNREFUSED' });
  assert.equal(classifyError(wrapped).rule, 'econnrefused');
  const caused = new Error('delivery failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND mx'), { code: 'ENOTFOUND' }) });
  assert.equal(classifyError(caused).rule, 'dns');
  const cert = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  assert.equal(classifyError(cert).category, 'tls');
  assert.deepEqual(classifyError('weird'), { action: 'retry', category: 'unknown', rule: 'default-unknown' });
  assert.deepEqual(classifyError(new Error('boom')), { action: 'retry', category: 'unknown', rule: 'default-unknown' });
});

test('classifyError: responseCode without response text', () => {
  const err = Object.assign(new Error('Message failed'), { code: 'EMESSAGE', responseCode: 451 });
  assert.equal(classifyError(err).action, 'retry');
});

test('a custom table can be passed (first match wins)', () => {
  const rows = [{ name: 'all', match: { code: /^5/ }, action: 'retry' as const, category: 'policy' as const }];
  assert.deepEqual(classifyRemote({ code: 550, text: 'x' }, rows), { action: 'retry', category: 'policy', rule: 'all' });
});
