import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../core/index.js';
import type { RecipientResolver } from '../gateway/index.js';
import { probeMessage, PROBE_HEADER } from './mail.js';
import { planProbes } from './prober.js';
import { ProbeAwareResolver } from './resolver.js';
import { shortReason } from './errors.js';

test('probe mailboxes route to their own system; everything else asks the directory', async () => {
  const asked: string[] = [];
  const inner: RecipientResolver = { source: 'directory', resolve: async (a) => { asked.push(a); return { kind: 'unknown' }; } };
  const r = new ProbeAwareResolver(inner, { cloud: { address: 'Probe@Example.com' } });
  assert.deepEqual(await r.resolve('probe@example.com'), { kind: 'system', name: 'cloud', via: 'probes.mailboxes' });
  assert.deepEqual(await r.resolve('someone@example.com'), { kind: 'unknown' });
  assert.deepEqual(asked, ['someone@example.com']);
  assert.equal(r.source, 'probes.mailboxes, then directory');
});

test('the probe message carries its token in one header and a Message-ID of its own; no body secrets', () => {
  const { messageId, body } = probeMessage({ address: 'p@example.com' }, 'abc123', new Date(0));
  const text = body.toString('ascii');
  assert.equal(messageId, '<probe.abc123@example.com>');
  assert.match(text, new RegExp(`^${PROBE_HEADER}: abc123\\r$`, 'm'));
  assert.match(text, /\r\n\r\n/);
  assert.doesNotMatch(text, /[^\r]\n/, 'CRLF line ends only');
});

test('planProbes: mail needs a probe mailbox, IMAP and a way in; free/busy needs caldav or freebusyUrl; LDAP needs ldap', () => {
  const imap = { host: 'h', port: 1, tls: 'none' as const };
  const ldap = { url: 'ldap://h', baseDn: 'dc=x', filter: '(x=*)', startTls: false, flavor: 'openldap' as const, password: new Secret('s') };
  const plans = planProbes({
    systems: { a: { name: 'a', imap, ldap }, b: { name: 'b', imap, freebusyUrl: 'http://h/{address}' }, c: { name: 'c' } },
    mailboxes: { a: { address: 'p@a' }, b: { address: 'p@b' } },
    submitVia: (s) => (s === 'a' ? { kind: 'gateway', host: '127.0.0.1', port: 25 } : undefined),
  });
  assert.deepEqual(plans, [{ system: 'a', kinds: ['mail', 'ldap'] }, { system: 'b', kinds: ['freebusy'] }]);
});

test('reasons are one short line: network codes named, no stack', () => {
  assert.equal(shortReason(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'connection refused (ECONNREFUSED)');
  assert.equal(shortReason(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })), 'network error (ETIMEDOUT)');
  assert.equal(shortReason({ response: '550 5.1.1 <p@x>: Recipient address rejected\n  more' }), '550 5.1.1 <p@x>: Recipient address rejected more');
});
