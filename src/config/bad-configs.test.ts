/**
 * One row per mistake an administrator makes; each must name the exact key
 * (and the line, where the key is in the file) in the message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { formatConfigError, parseConfig, type ConfigIssue } from './index.js';

const HEAD = `organization: Test
domains: [example.com]
`;
const SYSTEMS = `systems:
  legacy:
    imap: { host: 127.0.0.1, port: 143 }
  cloud:
    imap: { host: 127.0.0.1, port: 993, tls: implicit }
`;
const BASE = HEAD + SYSTEMS; // 7 lines

interface Row {
  name: string;
  text: string;
  path: string;
  reason: RegExp;
  line?: number;
  env?: NodeJS.ProcessEnv;
}

const rows: Row[] = [
  { name: 'unknown top-level key', text: `${BASE}gatway: {}\n`, path: 'gatway', line: 8, reason: /^unknown key "gatway" \(did you mean "gateway"\?\)$/ },
  {
    name: 'unknown nested key, with a suggestion',
    text: `${BASE}web:\n  listn: { port: 8081 }\n`, path: 'web.listn', line: 9, reason: /unknown key "listn" \(did you mean "listen"\?\)/,
  },
  {
    name: 'unknown key inside a system, with a suggestion',
    text: `${HEAD}systems:\n  legacy:\n    imap: { host: h, port: 143, tsl: none }\n`, path: 'systems.legacy.imap.tsl', line: 5, reason: /did you mean "tls"/,
  },
  {
    name: 'wrong type for a port',
    text: `${HEAD}systems:\n  legacy:\n    imap: { host: h, port: abc }\n`, path: 'systems.legacy.imap.port', line: 5,
    reason: /^expected a port number 1-65535, got "abc"$/,
  },
  {
    name: 'port out of range',
    text: `${BASE}gateway:\n  listen: [{ host: 127.0.0.1, port: 70000 }]\n`, path: 'gateway.listen.0.port', line: 9,
    reason: /^expected a port number 1-65535, got number 70000$/,
  },
  { name: 'bad duration', text: `${BASE}directory: { interval: 15 minutes }\n`, path: 'directory.interval', line: 8, reason: /"15 minutes" is not a duration/ },
  {
    name: 'bad size',
    text: `${BASE}gateway:\n  listen: [{ host: 127.0.0.1, port: 25 }]\n  maxMessageSize: 25 parsecs\n`, path: 'gateway.maxMessageSize', line: 10,
    reason: /"25 parsecs" is not a size/,
  },
  { name: 'migration.from naming no system', text: `${BASE}migration: { from: oldmail, to: cloud }\n`, path: 'migration.from', line: 8, reason: /no system named "oldmail" \(systems: "legacy", "cloud"\)/ },
  { name: 'migration from == to', text: `${BASE}migration: { from: cloud, to: cloud }\n`, path: 'migration.to', line: 8, reason: /must differ from migration.from/ },
  { name: 'empty domains', text: `organization: T\ndomains: []\n${SYSTEMS}`, path: 'domains', line: 2, reason: /must list at least one domain/ },
  { name: 'an invalid domain', text: `organization: T\ndomains: [example.com, "bad domain"]\n${SYSTEMS}`, path: 'domains.1', line: 2, reason: /not a valid domain name/ },
  {
    name: 'store with both sqlite and postgres',
    text: `${BASE}store: { sqlite: ./mb.db, postgres: "postgres://mb@db/mb" }\n`, path: 'store', line: 8, reason: /either sqlite or postgres, not both/,
  },
  {
    name: 'missing env secret',
    text: `${HEAD}systems:\n  legacy:\n    imap: { host: h, port: 143, admin: { user: master, password: { env: LEGACY_MASTER_PW } } }\n`,
    path: 'systems.legacy.imap.admin.password', line: 5, reason: /environment variable LEGACY_MASTER_PW is not set/,
  },
  {
    name: 'unreadable file secret',
    text: `${HEAD}systems:\n  legacy:\n    ldap: { url: "ldap://h", bindDn: "cn=a", password: { file: no-such.pw }, baseDn: "dc=x" }\n`,
    path: 'systems.legacy.ldap.password', line: 5, reason: /cannot read the secret file \/nowhere\/no-such\.pw \(ENOENT\)/,
  },
  {
    name: 'bad regex in a folder rule',
    text: `${BASE}migration:\n  from: legacy\n  to: cloud\n  folders:\n    rules:\n      - { from: "^Sent(", to: Sent }\n`,
    path: 'migration.folders.rules.0.from', line: 13, reason: /not a valid regular expression/,
  },
  {
    name: 'bad CIDR in relayNetworks',
    text: `${BASE}gateway:\n  listen: [{ host: 127.0.0.1, port: 25 }]\n  relayNetworks: [127.0.0.0/8, 10.0.0.0/33]\n`,
    path: 'gateway.relayNetworks.1', line: 10, reason: /prefix length must be 0-32/,
  },
  {
    name: 'not an IP network in relayNetworks',
    text: `${BASE}gateway:\n  listen: [{ host: 127.0.0.1, port: 25 }]\n  relayNetworks: [localnet]\n`,
    path: 'gateway.relayNetworks.0', line: 10, reason: /"localnet" is not an IP network/,
  },
  { name: 'YAML syntax error with its line', text: `${BASE}gateway:\n  listen: [{ host: 127.0.0.1, port: 25 }\n  spool: x\n`, path: '', line: 10, reason: /YAML syntax error/ },
  { name: 'duplicate YAML key', text: `${BASE}organization: Again\n`, path: '', line: 8, reason: /YAML syntax error.*unique/ },
  { name: 'empty file', text: '', path: '', reason: /the file is empty/ },
  { name: 'file with only comments', text: '# nothing yet\n', path: '', reason: /the file is empty/ },
  {
    name: 'web user hash not scrypt',
    text: `${BASE}web:\n  users: [{ name: admin, passwordHash: hunter2 }]\n`, path: 'web.users.0.passwordHash', line: 9, reason: /is not a scrypt hash/,
  },
  {
    name: 'system name with bad characters',
    text: `${HEAD}systems:\n  Legacy.Mail:\n    imap: { host: h, port: 143 }\n`, path: 'systems.Legacy.Mail', line: 4, reason: /system name "Legacy.Mail" must start with a-z/,
  },
  { name: 'no systems', text: `${HEAD}systems: {}\n`, path: 'systems', line: 3, reason: /at least one system/ },
  { name: 'missing required key', text: HEAD, path: 'systems', reason: /^required, but missing$/ },
  {
    name: 'ldap url with another scheme',
    text: `${HEAD}systems:\n  legacy:\n    ldap: { url: "http://h", baseDn: "dc=x" }\n`, path: 'systems.legacy.ldap.url', line: 5, reason: /expected an ldap:\/\/ or ldaps:\/\/ URL/,
  },
  { name: 'overflow system that does not exist', text: `${BASE}gateway:\n  listen: [{ host: h, port: 25 }]\n  routing: { overflowSystem: nope }\n`, path: 'gateway.routing.overflowSystem', line: 10, reason: /no system named "nope"/ },
  { name: 'wrong type for a number', text: `${BASE}migration: { from: legacy, to: cloud, concurrency: many }\n`, path: 'migration.concurrency', line: 8, reason: /^expected a number, got string "many"$/ },
  { name: 'wrong enum value', text: `${HEAD}systems:\n  a: { smtp: { host: h, port: 24, protocol: lmtps } }\n`, path: 'systems.a.smtp.protocol', line: 4, reason: /expected one of "smtp", "lmtp", got string "lmtps"/ },
  { name: 'numeric literal password', text: `${HEAD}systems:\n  a: { caldav: { url: "http://h/", password: 1234 } }\n`, path: 'systems.a.caldav.password', line: 4, reason: /quote numeric passwords/ },
  { name: 'unknown key in a secret', text: `${HEAD}systems:\n  a: { caldav: { url: "http://h/", password: { evn: PW } } }\n`, path: 'systems.a.caldav.password.evn', line: 4, reason: /did you mean "env"/ },
  { name: 'two directory sources', text: `${HEAD}systems:\n  a: { users: a.csv, ldif: a.ldif }\n`, path: 'systems.a.ldif', line: 4, reason: /give only one of users, ldif/ },
  {
    name: 'the same console user twice',
    text: `${BASE}web:\n  users:\n    - { name: admin, passwordHash: "scrypt$a" }\n    - { name: admin, passwordHash: "scrypt$b" }\n`,
    path: 'web.users.1.name', line: 11, reason: /"admin" is listed twice/,
  },
  { name: 'an empty required value', text: `${BASE}migration:\n  from:\n  to: cloud\n`, path: 'migration.from', line: 9, reason: /^required, but missing$/ },
  { name: 'top level is a list', text: '- a\n- b\n', path: '', line: 1, reason: /expected a mapping \(key: value\), got a list/ },
];

for (const row of rows) {
  test(`bad config: ${row.name}`, () => {
    let issues: ConfigIssue[] = [];
    let message = '';
    try {
      parseConfig(row.text, '/nowhere/mailbridge.yaml', row.env ?? {});
      assert.fail('the configuration was accepted');
    } catch (err) {
      assert.ok(MbError.is(err, 'CONFIG_INVALID'), String(err));
      issues = err.details.issues as ConfigIssue[];
      message = formatConfigError(err);
    }
    const issue = issues.find((i) => i.path === row.path);
    assert.ok(issue, `no issue at "${row.path}" in:\n${message}`);
    assert.match(issue.reason, row.reason);
    assert.equal(issue.line, row.line, message);
    const where = row.line === undefined ? '/nowhere/mailbridge.yaml' : `/nowhere/mailbridge.yaml:${row.line}`;
    assert.ok(message.includes(row.path === '' ? `${where}: ` : `${where}: ${row.path}: `), message);
  });
}

test('a secret is never echoed in a message', () => {
  const text = `${BASE}web:\n  users: [{ name: admin, passwordHash: "correct horse battery" }]\n`;
  assert.throws(() => parseConfig(text, 'm.yaml', {}), (err: unknown) =>
    MbError.is(err) && !formatConfigError(err).includes('correct horse') && !err.message.includes('correct horse'));
});
