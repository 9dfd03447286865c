import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNullPath, parseMailbox, relayTrick, validDomain } from './address.js';
import { Reply } from './replies.js';

const ok = (raw: string, opts = {}) => {
  const r = parseMailbox(raw, opts);
  assert.ok(r.ok, `${raw} should parse: ${r.ok ? '' : r.reply.text}`);
  return r;
};
const refused = (raw: string, opts = {}) => {
  const r = parseMailbox(raw, opts);
  assert.ok(!r.ok, `${raw} should be refused`);
  return r.reply;
};

/** A domain of exactly n octets made of 63-octet labels. */
function domainOf(n: number): string {
  const labels: string[] = [];
  let left = n;
  while (left > 0) {
    const len = Math.min(63, left === 64 ? 62 : left); // never leave a lone dot or an empty label
    labels.push('a'.repeat(len));
    left -= len;
    if (left > 0) left -= 1; // the dot
  }
  const d = labels.join('.');
  assert.equal(d.length, n);
  return d;
}

test('plain, bracketed and case: domain lower-cased, local part kept', () => {
  const r = ok('<John.Smith@Example.COM>');
  assert.equal(r.local, 'John.Smith');
  assert.equal(r.domain, 'example.com');
  assert.equal(r.quoted, false);
  assert.equal(r.address, 'John.Smith@example.com');
  assert.equal(ok("o'brien+tag=x@example.com").local, "o'brien+tag=x");
});

test('quoted local part: content unquoted, address re-quoted only when needed', () => {
  const r = ok('"john doe"@example.com');
  assert.equal(r.local, 'john doe');
  assert.equal(r.quoted, true);
  assert.equal(r.address, '"john doe"@example.com');
  const plain = ok('"john"@example.com');
  assert.equal(plain.address, 'john@example.com');
  const escaped = ok('"a\\"b\\\\c"@example.com');
  assert.equal(escaped.local, 'a"b\\c');
  assert.equal(escaped.address, '"a\\"b\\\\c"@example.com');
});

test('bad syntax is 501 5.1.3 for a recipient, 5.1.7 for a sender', () => {
  for (const raw of ['', 'nobody', '@example.com', 'a..b@example.com', '.a@example.com', 'a.@example.com', 'a b@example.com',
    'a@', 'a@-x.com', 'a@x-.com', 'a@x..com', 'a@x.com.', 'a@x_y.com', '"unterminated@example.com', '"a"b@example.com',
    '""@example.com', 'a@[300.1.1.1]', 'a@[1.2.3]', 'a@[IPv6:zz::1]', 'a@[tag:whatever]', 'a@b@c.com']) {
    assert.deepEqual(refused(raw), Reply.badAddressSyntax(), raw);
  }
  assert.deepEqual(refused('nobody', { role: 'sender' }), Reply.badAddressSyntax('sender'));
});

test('address literals: IPv4 and IPv6 (RFC 5321 4.1.3)', () => {
  const v4 = ok('user@[192.0.2.1]');
  assert.equal(v4.literal, true);
  assert.equal(v4.domain, '[192.0.2.1]');
  assert.equal(ok('user@[IPv6:2001:db8::1]').domain, '[ipv6:2001:db8::1]');
  assert.equal(ok('user@[IPv6:::ffff:192.0.2.1]').literal, true);
});

test('local part: 64 octets accepted, 65 refused (RFC 5321 4.5.3.1.1)', () => {
  ok(`${'a'.repeat(64)}@example.com`);
  assert.deepEqual(refused(`${'a'.repeat(65)}@example.com`), Reply.localPartTooLong());
  assert.deepEqual(refused(`${'a'.repeat(65)}@example.com`, { role: 'sender' }), Reply.localPartTooLong('sender'));
  // Octets, not characters: 32 two-octet characters fill it.
  ok(`${'é'.repeat(32)}@example.com`, { smtputf8: true });
  assert.deepEqual(refused(`${'é'.repeat(32)}a@example.com`, { smtputf8: true }), Reply.localPartTooLong());
  // The quotes count: they are on the wire.
  assert.deepEqual(refused(`"${'a'.repeat(63)}"@example.com`), Reply.localPartTooLong());
});

test('domain: 255 octets is a valid domain, 256 is refused as too long (RFC 5321 4.5.3.1.2)', () => {
  assert.equal(validDomain(domainOf(255)), true);
  assert.equal(validDomain(domainOf(256)), false);
  assert.deepEqual(refused(`a@${domainOf(256)}`), Reply.domainTooLong());
  // ... but a 255-octet domain never fits a 256-octet path: a@ + 255 + <> is 259.
  assert.deepEqual(refused(`a@${domainOf(255)}`), Reply.pathTooLong());
});

test('path: 256 octets with the brackets accepted, 257 refused (RFC 5321 4.5.3.1.3)', () => {
  const local = 'a'.repeat(64);
  const fits = `${local}@${domainOf(256 - 2 - 65)}`; // 254-octet mailbox
  assert.equal(fits.length, 254);
  ok(fits);
  ok(`<${fits}>`);
  assert.deepEqual(refused(`${local}@${domainOf(256 - 2 - 65 + 1)}`), Reply.pathTooLong());
});

test('labels over 63 octets are refused (RFC 1035 2.3.4)', () => {
  ok(`a@${'b'.repeat(63)}.com`);
  assert.deepEqual(refused(`a@${'b'.repeat(64)}.com`), Reply.badAddressSyntax());
});

test('non-ASCII needs SMTPUTF8 (RFC 6531): 553 5.6.7 without it', () => {
  assert.deepEqual(refused('jörg@example.com'), Reply.needsSmtputf8());
  assert.deepEqual(refused('user@bücher.example'), Reply.needsSmtputf8());
  const r = ok('jörg@Bücher.example', { smtputf8: true });
  assert.equal(r.local, 'jörg');
  assert.equal(r.domain, 'bücher.example');
});

test('source route: accepted and ignored (RFC 5321 4.1.2, Appendix C), route reported', () => {
  const r = ok('<@relay.example,@[192.0.2.9]:user@other.example>');
  assert.equal(r.address, 'user@other.example');
  assert.deepEqual(r.route, ['relay.example', '[192.0.2.9]']);
  assert.equal(ok('@a.example:user@[IPv6:2001:db8::2]').domain, '[ipv6:2001:db8::2]');
  assert.deepEqual(refused('@relay.example user@other.example'), Reply.badAddressSyntax());
  assert.deepEqual(refused('@:user@other.example'), Reply.badAddressSyntax());
});

test('RCPT TO:<Postmaster> without a domain (RFC 5321 4.5.1)', () => {
  const r = ok('<Postmaster>', { postmasterDomain: 'Example.com' });
  assert.equal(r.address, 'postmaster@example.com');
  assert.deepEqual(refused('<Postmaster>'), Reply.badAddressSyntax());
  assert.deepEqual(refused('Postmaster', { role: 'sender', postmasterDomain: 'example.com' }), Reply.badAddressSyntax('sender'));
});

test('null path', () => {
  assert.equal(isNullPath('<>'), true);
  assert.equal(isNullPath(' <> '), true);
  assert.equal(isNullPath(''), false);
  assert.equal(isNullPath('<a@b.c>'), false);
});

test('relay tricks: each kind is named', () => {
  const cases: Array<[string, string]> = [
    ['user%other.example@example.com', 'percent-hack'],
    ['"user%other.example"@example.com', 'percent-hack'],
    ['"user@other.example"@example.com', 'quoted-at'],
    ['@example.com:user@other.example', 'source-route'],
    ['<@example.com,@example.net:user@other.example>', 'source-route'],
    ['other.example!user@example.com', 'bang-path'],
    ['user@other.example@example.com', 'multiple-at'],
    ['"user"@other.example@example.com', 'multiple-at'],
  ];
  for (const [raw, kind] of cases) assert.equal(relayTrick(raw), kind, raw);
  // Every kind has a refusal in the catalogue.
  for (const [, kind] of cases) assert.equal(Reply.routingDenied(kind as never).code, 554);
});

test('relay tricks: ordinary addresses pass', () => {
  for (const raw of ['user@example.com', '<first.last+tag@example.com>', '"john doe"@example.com', 'postmaster', 'a=b@example.com']) {
    assert.equal(relayTrick(raw), undefined, raw);
  }
});
