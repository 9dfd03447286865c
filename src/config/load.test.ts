import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MbError, Secret } from '../core/index.js';
import { formatConfigError, loadConfig, parseConfig, type ConfigIssue } from './index.js';

const FIXTURE = resolve(import.meta.dirname, '../../test/fixtures/config/mailbridge.yaml');

const BASE = `organization: Test
domains: [example.com]
systems:
  legacy:
    imap: { host: 127.0.0.1, port: 143 }
  cloud:
    imap: { host: 127.0.0.1, port: 993, tls: implicit }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}, file = 'mailbridge.yaml'): { message: string; issues: ConfigIssue[] } {
  try {
    parseConfig(text, file, env);
  } catch (err) {
    assert.ok(MbError.is(err, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(err)}`);
    return { message: formatConfigError(err), issues: err.details.issues as ConfigIssue[] };
  }
  assert.fail('the configuration was accepted');
}

test('the DESIGN.md example parses, with real values', () => {
  const cfg = loadConfig(FIXTURE, { CLOUD_MASTER_PW: 'cloudpw' });
  assert.equal(cfg.file, FIXTURE);
  assert.equal(cfg.dir, resolve(FIXTURE, '..'));
  assert.equal(cfg.organization, 'Example Group');
  assert.deepEqual(cfg.domains, ['example.com']);
  assert.deepEqual(Object.keys(cfg.systems), ['legacy', 'cloud']);
  const legacy = cfg.systems.legacy!;
  assert.equal(legacy.name, 'legacy');
  assert.deepEqual(legacy.smtp, { host: '127.0.0.1', port: 10024, protocol: 'lmtp', tls: 'none', concurrency: 10 });
  assert.equal(legacy.imap?.admin?.user, 'master');
  assert.equal(legacy.imap?.admin?.password.reveal(), 'masterpw');
  assert.equal(legacy.imap?.admin?.mode, 'master');
  assert.equal(legacy.ldap?.url, 'ldap://127.0.0.1:3389');
  assert.equal(legacy.ldap?.contactsDn, 'ou=contacts,ou=legacy,dc=example,dc=com');
  assert.equal(legacy.caldav?.home, '{local}/');
  assert.equal(cfg.systems.cloud!.imap?.admin?.password.reveal(), 'cloudpw');
  assert.equal(cfg.systems.cloud!.users, join(cfg.dir, 'cloud-users.csv'));
  assert.deepEqual(cfg.gateway?.listen, [{ host: '127.0.0.1', port: 2525 }]);
  assert.equal(cfg.gateway?.maxMessageSize, 25_000_000);
  assert.deepEqual(cfg.gateway?.retry, { schedule: [60_000, 300_000, 900_000, 1_800_000, 3_600_000], maxAge: 432_000_000, warnAfter: 14_400_000 });
  assert.deepEqual(cfg.gateway?.external, { host: '127.0.0.1', port: 10026, tls: 'none', concurrency: 10 });
  assert.deepEqual(cfg.migration && [cfg.migration.from, cfg.migration.to, cfg.migration.concurrency], ['legacy', 'cloud', 4]);
  assert.equal(cfg.web.users[0]?.name, 'admin');
});

test('defaults are applied', () => {
  const cfg = parseConfig(`${BASE}gateway:\n  listen: [{ host: 0.0.0.0, port: 25 }]\nmigration: { from: legacy, to: cloud }\n`, '/srv/mb/mailbridge.yaml', {});
  assert.deepEqual(cfg.store, { sqlite: '/srv/mb/var/mailbridge.db' });
  assert.equal(cfg.systems.legacy!.imap?.tls, 'none');
  const gw = cfg.gateway!;
  assert.equal(gw.spool, '/srv/mb/var/spool');
  assert.deepEqual(gw.relayNetworks, ['127.0.0.0/8', '::1/128']);
  assert.equal(gw.maxMessageSize, 25_000_000);
  assert.equal(gw.hopLimit, 50);
  assert.deepEqual(gw.retry.schedule, [60_000, 300_000, 900_000, 1_800_000, 3_600_000]);
  assert.equal(gw.retry.maxAge, 5 * 86_400_000);
  assert.equal(gw.retry.warnAfter, 4 * 3_600_000);
  assert.equal(gw.routing.mode, 'central');
  assert.equal(gw.trackingRetention, 30 * 86_400_000);
  const mig = cfg.migration!;
  assert.deepEqual([mig.concurrency, mig.deleteOnTarget, mig.skipDeleted], [4, false, true]);
  assert.deepEqual(cfg.web, { listen: { host: '127.0.0.1', port: 8080 }, users: [], metrics: { public: false } });
  assert.deepEqual(cfg.directory, { interval: 900_000, deleteThreshold: 500, changeOverlap: 120_000 });
  assert.deepEqual(cfg.probes, { interval: 300_000 });
  assert.deepEqual(cfg.calendar, {
    cacheTtl: 300_000, timeout: 5000, windowBack: 86_400_000, windowForward: 60 * 86_400_000,
    maxWindow: 62 * 86_400_000, maxInstances: 3500,
  });
  assert.deepEqual(cfg.check, { timeout: 10_000 });
  assert.equal(cfg.gateway?.external, undefined);
});

test('optional sections stay absent, and an LDAP endpoint gets its defaults', () => {
  const cfg = parseConfig(`${BASE}  dir:\n    ldap: { url: "ldaps://ldap.example.com", baseDn: "dc=example,dc=com" }\n`, 'x/mailbridge.yaml', {});
  assert.equal(cfg.gateway, undefined);
  assert.equal(cfg.migration, undefined);
  assert.deepEqual(cfg.systems.dir!.ldap, {
    url: 'ldaps://ldap.example.com', baseDn: 'dc=example,dc=com', filter: '(objectClass=inetOrgPerson)', startTls: false, flavor: 'openldap',
  });
});

test('an empty section means "not given": its defaults apply', () => {
  const cfg = parseConfig(`${BASE}gateway:\n  # listen: [...]\nstore:\nweb:\n  listen:\n`, '/srv/mailbridge.yaml', {});
  assert.equal(cfg.gateway, undefined);
  assert.deepEqual(cfg.store, { sqlite: '/srv/var/mailbridge.db' });
  assert.deepEqual(cfg.web.listen, { host: '127.0.0.1', port: 8080 });
});

test('durations, sizes, domains and networks are converted', () => {
  const cfg = parseConfig(`organization: T
domains: [Example.COM, sub.example.org]
systems:
  a: { smtp: { host: mx.example.com, port: 25, maxMessageSize: 512KiB } }
gateway:
  listen: [{ host: "::", port: 2525 }]
  maxMessageSize: 1048576
  relayNetworks: [10.0.0.0/8, 192.0.2.7, "2001:db8::/32"]
  retry: { schedule: [30s, 1h30m, 90], maxAge: 2d }
calendar: { timeout: 250ms, cacheTtl: 0 }
`, 'm.yaml', {});
  assert.deepEqual(cfg.domains, ['example.com', 'sub.example.org']);
  assert.equal(cfg.systems.a!.smtp?.maxMessageSize, 524_288);
  assert.equal(cfg.gateway?.maxMessageSize, 1_048_576);
  assert.deepEqual(cfg.gateway?.relayNetworks, ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32']);
  assert.deepEqual(cfg.gateway?.retry.schedule, [30_000, 5_400_000, 90_000]);
  assert.equal(cfg.gateway?.retry.maxAge, 172_800_000);
  assert.equal(cfg.calendar.timeout, 250);
  assert.equal(cfg.calendar.cacheTtl, 0);
});

test('env and file secrets are resolved, relative paths against the config folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-config-'));
  try {
    writeFileSync(join(dir, 'ldap.pw'), 'from-a-file\n');
    writeFileSync(join(dir, 'mailbridge.yaml'), `${BASE}  dir:
    ldap: { url: "ldap://h", bindDn: "cn=a", password: { file: ldap.pw }, baseDn: "dc=x" }
  csv: { users: people/dir.csv }
  ldif: { ldif: ../elsewhere/people.ldif }
store: { sqlite: data/mb.db }
gateway:
  listen: [{ host: 127.0.0.1, port: 2525 }]
  spool: spool
  pickup: ./pickup
  tls: { cert: tls/cert.pem, key: /etc/ssl/key.pem }
web: { freebusy: { token: { env: FB_TOKEN } } }
migration: { from: legacy, to: cloud, users: ./wave1.csv }
`);
    const cfg = loadConfig(join(dir, 'mailbridge.yaml'), { FB_TOKEN: 'tok123' });
    const pw = cfg.systems.dir!.ldap!.password!;
    assert.ok(pw instanceof Secret);
    assert.equal(pw.reveal(), 'from-a-file');
    assert.equal(pw.origin, `file:${join(dir, 'ldap.pw')}`);
    assert.equal(cfg.web.freebusy?.token?.reveal(), 'tok123');
    assert.equal(cfg.web.freebusy?.token?.origin, 'env:FB_TOKEN');
    assert.equal(cfg.systems.csv!.users, join(dir, 'people/dir.csv'));
    assert.equal(cfg.systems.ldif!.ldif, resolve(dir, '../elsewhere/people.ldif'));
    assert.equal(cfg.store.sqlite, join(dir, 'data/mb.db'));
    assert.equal(cfg.gateway?.spool, join(dir, 'spool'));
    assert.equal(cfg.gateway?.pickup, join(dir, 'pickup'));
    assert.deepEqual(cfg.gateway?.tls, { cert: join(dir, 'tls/cert.pem'), key: '/etc/ssl/key.pem' });
    assert.equal(cfg.migration?.users, join(dir, 'wave1.csv'));
    const json = JSON.stringify(cfg);
    assert.ok(!json.includes('from-a-file') && !json.includes('tok123'));
    assert.ok(json.includes('[redacted]'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the resolved config is deeply frozen', () => {
  const cfg = loadConfig(FIXTURE, { CLOUD_MASTER_PW: 'x' });
  const mutable = cfg as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.ok(Object.isFrozen(cfg));
  assert.throws(() => { mutable.organization = 'other'; }, TypeError);
  assert.throws(() => { mutable.domains.push('evil.example'); }, TypeError);
  assert.throws(() => { mutable.systems.legacy.imap.port = 1; }, TypeError);
  assert.throws(() => { mutable.gateway.retry.schedule[0] = 0; }, TypeError);
  assert.throws(() => { delete mutable.systems.cloud; }, TypeError);
  assert.ok(Object.isFrozen(cfg.web.users[0]));
});

test('a missing file is CONFIG_NOT_FOUND', () => {
  assert.throws(() => loadConfig('/nonexistent/mailbridge.yaml', {}), (err: unknown) =>
    MbError.is(err, 'CONFIG_NOT_FOUND') && err.message.includes('/nonexistent/mailbridge.yaml'));
});

test('issues carry file, dotted path, reason and line', () => {
  const text = `${BASE}gateway:\n  listen:\n    - { host: 127.0.0.1, port: 2525 }\n    - { host: 127.0.0.1, port: abc }\n`;
  const { message, issues } = problems(text);
  assert.deepEqual(issues, [{
    file: 'mailbridge.yaml', path: 'gateway.listen.1.port', reason: 'expected a port number 1-65535, got "abc"', line: 11,
  }]);
  assert.equal(message, 'mailbridge.yaml:11: gateway.listen.1.port: expected a port number 1-65535, got "abc"');
});

test('all problems are reported at once, in line order', () => {
  const { issues } = problems(`organization: 5
domains: []
systems:
  a: { imap: { host: h, port: 0 } }
migration: { from: a, to: b }
`);
  assert.deepEqual(issues.map((i) => [i.line, i.path]), [
    [1, 'organization'], [2, 'domains'], [4, 'systems.a.imap.port'], [5, 'migration.to'],
  ]);
});
