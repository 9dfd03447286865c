import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { MbError } from '../../core/index.js';
import {
  Reply, formatReply, isReply, parseReply, rejection, replyForError, sendContext, toSmtpServerError, SMTP_SERVER_REPLY_OPTIONS,
} from './replies.js';

/** Every constructor with the code and enhanced code it must give: the catalogue, pinned. */
const CATALOGUE: Array<[string, Reply, number, string]> = [
  ['ok', Reply.ok(), 250, '2.0.0'],
  ['senderOk', Reply.senderOk(), 250, '2.1.0'],
  ['recipientOk', Reply.recipientOk(), 250, '2.1.5'],
  ['queued', Reply.queued('4XyZ'), 250, '2.0.0'],
  ['startData', Reply.startData(), 354, ''],
  ['bye', Reply.bye(), 221, '2.0.0'],
  ['tempDirectory', Reply.tempDirectory(), 451, '4.4.3'],
  ['tempLocal', Reply.tempLocal(), 451, '4.3.0'],
  ['insufficientStorage', Reply.insufficientStorage(), 452, '4.3.1'],
  ['tooManyRecipients', Reply.tooManyRecipients(), 452, '4.5.3'],
  ['tooManyConnections', Reply.tooManyConnections(), 421, '4.7.0'],
  ['shuttingDown', Reply.shuttingDown(), 421, '4.3.2'],
  ['timeout', Reply.timeout(), 421, '4.4.2'],
  ['authTemporary', Reply.authTemporary(), 454, '4.7.0'],
  ['tlsUnavailable', Reply.tlsUnavailable(), 454, '4.7.0'],
  ['mailboxUnknown', Reply.mailboxUnknown(), 550, '5.1.1'],
  ['relayDenied', Reply.relayDenied(), 554, '5.7.1'],
  ['routingDenied', Reply.routingDenied('percent-hack'), 554, '5.7.1'],
  ['sizeExceeded', Reply.sizeExceeded(), 552, '5.3.4'],
  ['messageTooBig', Reply.messageTooBig(), 552, '5.3.4'],
  ['syntaxError', Reply.syntaxError(), 500, '5.5.2'],
  ['paramSyntax', Reply.paramSyntax(), 501, '5.5.4'],
  ['paramUnknown', Reply.paramUnknown(), 555, '5.5.4'],
  ['lineTooLong', Reply.lineTooLong(), 500, '5.5.2'],
  ['authLineTooLong', Reply.authLineTooLong(), 500, '5.5.6'],
  ['badSequence', Reply.badSequence(), 503, '5.5.1'],
  ['commandNotImplemented', Reply.commandNotImplemented(), 502, '5.5.1'],
  ['localPartTooLong', Reply.localPartTooLong(), 501, '5.1.3'],
  ['localPartTooLong sender', Reply.localPartTooLong('sender'), 501, '5.1.7'],
  ['domainTooLong', Reply.domainTooLong(), 501, '5.1.3'],
  ['pathTooLong', Reply.pathTooLong(), 501, '5.1.3'],
  ['badAddressSyntax', Reply.badAddressSyntax(), 501, '5.1.3'],
  ['badAddressSyntax sender', Reply.badAddressSyntax('sender'), 501, '5.1.7'],
  ['needsSmtputf8', Reply.needsSmtputf8(), 553, '5.6.7'],
  ['nulByte', Reply.nulByte(), 554, '5.6.0'],
  ['bareLf', Reply.bareLf(), 550, '5.5.2'],
  ['bareCr', Reply.bareCr(), 550, '5.5.2'],
  ['loopDetected', Reply.loopDetected(), 554, '5.4.6'],
  ['tooManyHops', Reply.tooManyHops(), 554, '5.4.6'],
  ['authRequired', Reply.authRequired(), 530, '5.7.0'],
  ['tlsRequired', Reply.tlsRequired(), 530, '5.7.0'],
  ['authFailed', Reply.authFailed(), 535, '5.7.8'],
];

test('catalogue: each reply has its code and enhanced code, and is well formed', () => {
  const names = new Set(CATALOGUE.map(([n]) => n.split(' ')[0]));
  assert.deepEqual([...names].sort(), Object.keys(Reply).sort(), 'every constructor is pinned here');
  for (const [name, r, code, enhanced] of CATALOGUE) {
    assert.equal(r.code, code, name);
    assert.equal(r.enhanced, enhanced, name);
    assert.ok(isReply(r), name);
    assert.ok(Object.isFrozen(r), name);
    assert.doesNotMatch(r.text, /[\r\n]/, name);
  }
});

test('catalogue: texts administrators recognise', () => {
  assert.equal(Reply.queued('4XyZ').text, 'Ok: queued as 4XyZ');
  assert.equal(Reply.tlsRequired().text, 'Must issue a STARTTLS command first');
  assert.equal(Reply.relayDenied().text, 'Relay access denied');
  assert.equal(Reply.lineTooLong().text, 'Line too long');
  assert.equal(Reply.bareLf().text, 'Error: bare <LF> received');
  assert.match(Reply.tempLocal().text, /try again later/);
  assert.match(Reply.routingDenied('source-route').text, /^Relay access denied: source routes/);
});

test('queued(id) keeps control characters and spaces out of the reply', () => {
  assert.equal(Reply.queued('ab\r\n250 fake').text, 'Ok: queued as ab250fake');
});

test('formatReply: single line, CRLF', () => {
  assert.equal(formatReply(Reply.mailboxUnknown()), '550 5.1.1 Recipient address rejected: User unknown\r\n');
  assert.equal(formatReply(Reply.startData()), '354 End data with <CR><LF>.<CR><LF>\r\n');
});

test('formatReply: multi-line repeats code and enhanced code (RFC 5321 4.2.1, RFC 2034)', () => {
  const r = { code: 250, enhanced: '2.0.0', text: 'first\nsecond\nthird' };
  assert.equal(formatReply(r), '250-2.0.0 first\r\n250-2.0.0 second\r\n250 2.0.0 third\r\n');
});

test('formatReply: control characters inside a line become spaces', () => {
  assert.equal(formatReply({ code: 451, enhanced: '4.3.0', text: 'a\u0000b\u0007c' }), '451 4.3.0 a b c\r\n');
});

test('isReply rejects malformed replies and class mismatches', () => {
  assert.equal(isReply({ code: 550, enhanced: '4.1.1', text: 'x' }), false);
  assert.equal(isReply({ code: 550, enhanced: '5.1', text: 'x' }), false);
  assert.equal(isReply({ code: 99, enhanced: '', text: 'x' }), false);
  assert.equal(isReply({ code: 550.5, enhanced: '5.1.1', text: 'x' }), false);
  assert.equal(isReply({ code: 550, enhanced: '5.1.1' }), false);
  assert.equal(isReply(null), false);
  assert.equal(isReply({ code: 550, enhanced: '5.1.10', text: '' }), true);
});

test('toSmtpServerError: responseCode set, one enhanced code at the start, one line', () => {
  const err = toSmtpServerError(Reply.relayDenied());
  assert.equal(err.responseCode, 554);
  assert.equal(err.message, '5.7.1 Relay access denied');
  const multi = toSmtpServerError({ code: 451, enhanced: '4.3.0', text: 'one\r\ntwo' });
  assert.equal(multi.message, '4.3.0 one two');
  assert.equal(toSmtpServerError(Reply.startData()).message, 'End data with <CR><LF>.<CR><LF>');
});

test('replyForError: a permanent MbError with a reply gives that reply', () => {
  assert.deepEqual(replyForError(rejection(Reply.mailboxUnknown())), Reply.mailboxUnknown());
  const custom = new MbError('GW_POLICY', 'internal words', { retry: 'permanent', details: { reply: Reply.relayDenied() } });
  assert.deepEqual(replyForError(custom), Reply.relayDenied());
});

test('replyForError: a transient error never becomes a 5xx', () => {
  const transient5xx = new MbError('DIR_TIMEOUT', 'ldap timeout', { retry: 'transient', details: { reply: Reply.mailboxUnknown() } });
  assert.deepEqual(replyForError(transient5xx), Reply.tempLocal());
  // A transient error may name its own 4xx.
  assert.deepEqual(replyForError(rejection(Reply.tempDirectory())), Reply.tempDirectory());
  assert.equal(rejection(Reply.tempDirectory()).retry, 'transient');
});

test('replyForError: anything else is 451 4.3.0 and never carries err.message', () => {
  const cases: unknown[] = [
    new Error('ECONNREFUSED 10.0.0.1:389 secret-host'),
    new MbError('DIR_DOWN', 'secret-host unreachable'),
    new MbError('X', 'bad reply shape', { details: { reply: { code: 550, enhanced: '4.1.1', text: 'x' } } }),
    new MbError('X', 'success reply', { details: { reply: Reply.ok() } }),
    'a string',
    undefined,
    { responseCode: 550, message: 'fake' },
  ];
  for (const c of cases) {
    const r = replyForError(c);
    assert.deepEqual(r, { code: 451, enhanced: '4.3.0', text: 'Local error, try again later' });
  }
});

test('parseReply: single and multi-line, enhanced code only when its class matches', () => {
  assert.deepEqual(parseReply('550 5.1.1 <a@b>: User unknown\r\n'), { code: 550, enhanced: '5.1.1', text: '<a@b>: User unknown' });
  assert.deepEqual(parseReply('452-4.2.2 The account is over quota.\r\n452 4.2.2 See https://x'), {
    code: 452, enhanced: '4.2.2', text: 'The account is over quota.\nSee https://x',
  });
  assert.deepEqual(parseReply('450 5.1.1 odd'), { code: 450, enhanced: '', text: '5.1.1 odd' });
  assert.deepEqual(parseReply('421'), { code: 421, enhanced: '', text: '' });
  assert.equal(parseReply('hello'), undefined);
  assert.equal(parseReply('250-a\r\n550 b'), undefined);
  assert.equal(parseReply(''), undefined);
});

/** An in-memory peer for smtp-server (no socket): what we write is the client, what it writes is collected. */
class Pipe extends Duplex {
  out = '';
  readyState = 'open';
  remoteAddress = '192.0.2.1';
  remotePort = 40000;
  localAddress = '192.0.2.2';
  localPort = 25;
  setKeepAlive(): this { return this; }
  setTimeout(): this { return this; }
  setNoDelay(): this { return this; }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.out += chunk.toString();
    this.emit('wrote');
    cb();
  }

  /** Resolves when what smtp-server wrote matches (event-driven: no sleeps). */
  until(re: RegExp): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!re.test(this.out)) return;
        this.off('wrote', check);
        resolve();
      };
      this.on('wrote', check);
      check();
    });
  }
}

async function converse(options: SMTPServerOptions, lines: string[], want: RegExp): Promise<string> {
  const server = new SMTPServer({ ...options, logger: false, disableReverseLookup: true, hideSTARTTLS: true, authOptional: true });
  const pipe = new Pipe();
  // smtp-server greets after a 100 ms early-talker pause on an unref'd timer: step it with mock timers.
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    server.connect(pipe as never, { remoteAddress: '192.0.2.1' } as never);
    mock.timers.tick(100);
  } finally {
    mock.timers.reset();
  }
  await pipe.until(/^220 /m);
  for (const l of lines) pipe.push(`${l}\r\n`);
  await pipe.until(want);
  pipe.destroy();
  return pipe.out;
}

test('with our options smtp-server announces ENHANCEDSTATUSCODES and codes its own replies; sendContext keeps ours single', async () => {
  assert.equal(SMTP_SERVER_REPLY_OPTIONS.hideENHANCEDSTATUSCODES, false);
  const out = await converse({ ...SMTP_SERVER_REPLY_OPTIONS }, ['EHLO client.example', 'MAIL FROM:<a@example.org>'], /^250 2\.1\.0 /m);
  assert.match(out, /^250[ -]ENHANCEDSTATUSCODES\r$/m);
  assert.match(out, /^250 2\.1\.0 Accepted\r$/m);
  // A text that starts with a code gets no second one; any other keeps smtp-server's context.
  assert.equal(sendContext('5.7.1 Relay access denied', 'RCPT'), false);
  assert.equal(sendContext('Accepted', 'MAIL'), 'MAIL');
  assert.equal(sendContext(['gw.test', 'PIPELINING'], 'EHLO'), 'EHLO');
  assert.equal(sendContext('2.0.0 Ok: queued as X', undefined), false);
});

test('smtp-server with enhanced codes on adds a second, wrong one to a coded text (why sendContext matters)', async () => {
  const out = await converse(
    { hideENHANCEDSTATUSCODES: false, onRcptTo: (_a, _s, cb) => cb(toSmtpServerError(Reply.relayDenied())) },
    ['EHLO client.example', 'MAIL FROM:<a@example.org>', 'RCPT TO:<b@elsewhere.example>'],
    /^554 /m,
  );
  assert.match(out, /^554 5\.6\.0 5\.7\.1 Relay access denied\r$/m);
});
