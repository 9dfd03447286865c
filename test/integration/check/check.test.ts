/**
 * `mailbridge check` against the real lab: Dovecot (IMAP with the master user,
 * LMTP), Postfix (SMTP), OpenLDAP, Radicale. Every configured endpoint passes;
 * a wrong password, a missing base DN and a stopped server each fail exactly
 * their own line with the right code.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../../../src/core/index.js';
import { formatCheckReport, runChecks, type CheckReport, type CheckTarget } from '../../../src/check/index.js';
import {
  LAB_HOST, labDir, ldapAddLdif, ldapClient, newMailUser, startDovecot, stopPid, useLab, type LabInfo,
} from '../../harness/index.js';

const TIMEOUT_MS = 10_000;
const lab = await useLab(undefined, { only: ['dovecot', 'ldap', 'radicale', 'postfix'] });
const work = mkdtempSync(join(tmpdir(), 'mb-check-it-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** legacy: Postfix as its SMTP endpoint, IMAP with the made-up probe; cloud: LMTP, IMAP with a real probe from its users CSV. */
async function labTargets(l: LabInfo): Promise<Record<string, CheckTarget>> {
  const ldap = l.ldap!;
  const radicale = l.radicale!;
  const probe = await newMailUser(l, 'cloud', { local: 'check-probe' });
  const csv = join(work, 'cloud-users.csv');
  writeFileSync(csv, `address,name,aliases\n${probe.address},Check Probe,\n`);
  const sys = (name: 'legacy' | 'cloud'): CheckTarget => ({
    name,
    imap: {
      host: LAB_HOST, port: l.dovecot[name].imapPort, tls: 'none',
      admin: { user: l.dovecot[name].masterUser, password: new Secret(l.dovecot[name].masterPassword), mode: 'master' },
    },
    ldap: {
      url: ldap.url, bindDn: ldap.bindDn, password: new Secret(ldap.password), baseDn: ldap.systems[name].baseDn,
      filter: '(objectClass=inetOrgPerson)', contactsDn: ldap.systems[name].contactsDn, startTls: false,
    },
    caldav: { url: radicale.url, user: radicale.adminUser, password: new Secret(radicale.adminPassword), home: '{local}/' },
  });
  return {
    legacy: { ...sys('legacy'), smtp: { host: LAB_HOST, port: l.postfix!.smtpPort, protocol: 'smtp', tls: 'none' } },
    cloud: { ...sys('cloud'), smtp: { host: LAB_HOST, port: l.dovecot.cloud.lmtpPort, protocol: 'lmtp', tls: 'none' }, users: csv },
  };
}

const targets = await labTargets(lab);
/** legacy's IMAP logs in as a mailbox named here (cloud's comes from its users CSV). */
const legacyUser = await newMailUser(lab, 'legacy', { local: 'check-probe' });
const probeUsers = { legacy: legacyUser.address };

/**
 * Dovecot counts every failed login from an IP and delays the next ones from it
 * (2s, 4s, 8s, up to 15s) until a login succeeds. Tests that fail a login on
 * purpose end with a good one, so they do not slow down the suites sharing the lab.
 */
async function clearAuthPenalty(system: 'legacy' | 'cloud'): Promise<void> {
  const user = await newMailUser(lab, system);
  const r = await runChecks({ systems: { [system]: { name: system, imap: targets[system]!.imap! } }, timeoutMs: 20_000 }, { probeUsers: { [system]: user.address } });
  assert.deepEqual(failing(r), [], 'a good master login after the deliberate failure');
}

function line(r: CheckReport, system: string, endpoint: string) {
  const hit = r.results.find((x) => x.system === system && x.endpoint === endpoint);
  assert.ok(hit, `${system} ${endpoint} is in the report`);
  return hit;
}

function failing(r: CheckReport): string[] {
  return r.results.filter((x) => !x.ok).map((x) => `${x.system} ${x.endpoint} ${x.error?.code ?? ''}`);
}

test('every endpoint of both lab systems passes, one line each', async (t) => {
  const r = await runChecks({ systems: targets, timeoutMs: TIMEOUT_MS }, { probeUsers });
  t.diagnostic(`\n${formatCheckReport(r)}`);
  assert.deepEqual(failing(r), []);
  assert.equal(r.ok, true);
  assert.deepEqual(r.results.map((x) => `${x.system} ${x.endpoint}`), [
    'legacy smtp', 'legacy imap', 'legacy ldap', 'legacy caldav',
    'cloud lmtp', 'cloud imap', 'cloud ldap', 'cloud users', 'cloud caldav',
  ]);
  assert.match(line(r, 'legacy', 'smtp').summary, /^220 greeting, EHLO ok \(.*PIPELINING/);
  assert.match(line(r, 'cloud', 'lmtp').summary, /^220 greeting, LHLO ok \(/);
  assert.equal(line(r, 'legacy', 'imap').details.probeSource, 'option');
  assert.match(line(r, 'legacy', 'imap').summary, new RegExp(`^\\* OK greeting, login master ok as ${legacyUser.address}, IMAP4rev1 UIDPLUS`));
  // cloud's users CSV names a real mailbox: a full master login and the post-login capabilities.
  const cloudImap = line(r, 'cloud', 'imap');
  assert.equal(cloudImap.details.probeSource, 'users');
  assert.match(cloudImap.summary, /^\* OK greeting, login master ok as t[0-9a-f]+-check-probe@example\.com, IMAP4rev1 UIDPLUS CONDSTORE QRESYNC MULTIAPPEND LITERAL\+/);
  assert.match(line(r, 'legacy', 'ldap').summary, /^LDAP bind ok as cn=admin,dc=example,dc=com, base ou=legacy,dc=example,dc=com found, \d+ (people match|person matches) \(objectClass=inetOrgPerson\), contacts .* found$/);
  assert.match(line(r, 'cloud', 'caldav').summary, /calendar-access.*PROPFIND 207 as /);
  assert.equal(line(r, 'cloud', 'users').summary, '1 user (with header row)');
  const json = JSON.stringify(r);
  for (const secret of [lab.dovecot.legacy.masterPassword, lab.dovecot.cloud.masterPassword, lab.ldap!.password, lab.radicale!.adminPassword]) {
    assert.ok(!json.includes(secret) && !formatCheckReport(r).includes(secret), 'no password in the report');
  }
});

test('a wrong master password fails that IMAP line alone, as bad credentials', async () => {
  const bad = structuredClone(targets);
  bad.legacy = { ...targets.legacy!, imap: { ...targets.legacy!.imap!, admin: { ...targets.legacy!.imap!.admin!, password: new Secret('not-the-password') } } };
  bad.cloud = targets.cloud!;
  const r = await runChecks({ systems: bad, timeoutMs: TIMEOUT_MS }, { probeUsers });
  await clearAuthPenalty('legacy');
  assert.deepEqual(failing(r), ['legacy imap CHECK_AUTH']);
  assert.equal(line(r, 'legacy', 'imap').error?.reason, 'bad credentials (login rejected: NO [AUTHENTICATIONFAILED] Authentication failed.)');
  assert.equal(r.ok, false);
});

test('without a known mailbox, the master password is proven by the answer for a made-up user', async () => {
  const imap = targets.legacy!.imap!;
  const r = await runChecks({
    timeoutMs: TIMEOUT_MS,
    systems: { bare: { name: 'bare', imap } },
  });
  await clearAuthPenalty('legacy');
  const bare = line(r, 'bare', 'imap');
  assert.equal(bare.ok, true, bare.summary);
  assert.equal(bare.details.probeSource, 'none');
  assert.match(bare.summary, /^\* OK greeting, login master ok \(password accepted; a made-up probe user refused as expected\), IMAP4rev1 .*\(pre-login\)$/);
  // Scheduled checks pass madeUpProbe: false: no deliberate failed login, and the line says what was not tried.
  const quiet = await runChecks({ timeoutMs: TIMEOUT_MS, systems: { bare: { name: 'bare', imap } } }, { madeUpProbe: false });
  assert.match(line(quiet, 'bare', 'imap').summary, /^\* OK greeting, admin login not tried \(no probe mailbox known for master to log in as\), IMAP4rev1 .*\(pre-login\)$/);
  assert.ok(line(quiet, 'bare', 'imap').latencyMs < 1500, 'no failed login, so no auth delay');
});

test('a wrong LDAP bind password is bad credentials; a base DN that does not exist is not found', async () => {
  const ldap = targets.legacy!.ldap!;
  const r = await runChecks({
    timeoutMs: TIMEOUT_MS,
    systems: {
      wrongpw: { name: 'wrongpw', ldap: { ...ldap, password: new Secret('not-the-password') } },
      nobase: { name: 'nobase', ldap: { ...ldap, baseDn: 'ou=nowhere,dc=example,dc=com' } },
      nocontacts: { name: 'nocontacts', ldap: { ...ldap, contactsDn: 'ou=nocontacts,dc=example,dc=com' } },
    },
  });
  assert.deepEqual(failing(r), ['wrongpw ldap CHECK_AUTH', 'nobase ldap CHECK_NOT_FOUND', 'nocontacts ldap CHECK_NOT_FOUND']);
  assert.match(line(r, 'wrongpw', 'ldap').error!.reason, /^bad credentials \(bind rejected: .*code 49\)$/);
  assert.equal(line(r, 'nobase', 'ldap').error!.reason, 'base DN ou=nowhere,dc=example,dc=com not found (noSuchObject, code 32)');
  assert.equal(line(r, 'nocontacts', 'ldap').error!.reason, 'contacts DN ou=nocontacts,dc=example,dc=com not found (noSuchObject, code 32)');
});

test('people are counted past the server size limit (paged results)', async (t) => {
  const ldap = lab.ldap!;
  const ou = `ou=check-${randomBytes(4).toString('hex')},${ldap.suffix}`;
  const n = 510; // the lab's slapd stops plain searches at 500
  const people = Array.from({ length: n }, (_, i) =>
    `dn: uid=p${i},${ou}\nobjectClass: inetOrgPerson\nuid: p${i}\ncn: Person ${i}\nsn: ${i}\nmail: p${i}@example.com\n`);
  ldapAddLdif(ldap, [`dn: ${ou}\nobjectClass: organizationalUnit\nou: ${ou.slice(3, ou.indexOf(','))}\n`, ...people].join('\n'));
  t.after(async () => {
    const c = await ldapClient(ldap);
    try {
      for (let i = 0; i < n; i++) await c.del(`uid=p${i},${ou}`);
      await c.del(ou);
    } finally {
      await c.unbind();
    }
  });
  const r = await runChecks({
    timeoutMs: TIMEOUT_MS,
    systems: { big: { name: 'big', ldap: { ...targets.legacy!.ldap!, baseDn: ou, contactsDn: undefined } } },
  });
  const l = line(r, 'big', 'ldap');
  assert.equal(l.ok, true, l.summary);
  assert.equal(l.details.count, n);
  assert.ok(Number(l.details.pages) >= 2, `paged (${String(l.details.pages)} pages)`);
});

test('the admin login finds its probe user in LDAP when nothing names one', async (t) => {
  const ldap = lab.ldap!;
  const ou = `ou=check-${randomBytes(4).toString('hex')},${ldap.suffix}`;
  const dn = `uid=probe,${ou}`;
  ldapAddLdif(ldap, `dn: ${ou}\nobjectClass: organizationalUnit\nou: ${ou.slice(3, ou.indexOf(','))}\n\n` +
    `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: probe\ncn: Probe\nsn: Probe\nmail: ${legacyUser.address}\n`);
  t.after(async () => {
    const c = await ldapClient(ldap);
    try { await c.del(dn); await c.del(ou); } finally { await c.unbind(); }
  });
  const r = await runChecks({
    timeoutMs: TIMEOUT_MS,
    systems: { dir: { name: 'dir', imap: targets.legacy!.imap!, ldap: { ...targets.legacy!.ldap!, baseDn: ou, contactsDn: undefined } } },
  });
  assert.deepEqual(failing(r), []);
  const imap = line(r, 'dir', 'imap');
  assert.equal(imap.details.probeSource, 'ldap');
  assert.match(imap.summary, new RegExp(`login master ok as ${legacyUser.address}, IMAP4rev1 UIDPLUS`));
});

test('stop one server and the check names exactly its endpoints', async () => {
  // Its own directory, handed to the lab user (Dovecot runs unprivileged and must reach its config).
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-check-dovecot-')));
  const { info, server } = await startDovecot(dir, 'cloud');
  try {
    const systems: Record<string, CheckTarget> = {
      legacy: targets.legacy!,
      extra: {
        name: 'extra',
        smtp: { host: LAB_HOST, port: info.lmtpPort, protocol: 'lmtp', tls: 'none' },
        imap: { host: LAB_HOST, port: info.imapPort, tls: 'none', admin: { user: info.masterUser, password: new Secret(info.masterPassword), mode: 'master' } },
      },
    };
    const before = await runChecks({ systems, timeoutMs: TIMEOUT_MS }, { probeUsers });
    assert.deepEqual(failing(before), []);
    await stopPid(server.pid);
    const r = await runChecks({ systems, timeoutMs: TIMEOUT_MS }, { probeUsers });
    assert.deepEqual(failing(r), ['extra lmtp CHECK_REFUSED', 'extra imap CHECK_REFUSED']);
    assert.equal(r.ok, false);
    assert.match(formatCheckReport(r), new RegExp(`✘ extra\\s+imap\\s+127\\.0\\.0\\.1:${info.imapPort}\\s+\\d+ms  connection refused`));
  } finally {
    await stopPid(server.pid);
    rmSync(dir, { recursive: true, force: true });
  }
});
