/**
 * OpenLDAP (slapd) for the lab: one mdb database `dc=example,dc=com` holding the
 * people and contacts OUs of both systems, on a free loopback port, run as the
 * lab user in the foreground with an old-style slapd.conf (`-f`).
 *
 * Two choices that make the lab behave like the directories mailbridge meets:
 * - `cn=admin,dc=example,dc=com` is an ordinary entry with write access, NOT the
 *   rootdn: slapd.conf(5) says the rootdn "is not subject to access control or
 *   administrative limit restrictions", so binding as a rootdn would hide the
 *   size limit. There is no rootdn at all; seeding is done offline by slapadd.
 * - `sizelimit size.soft=500 size.hard=500 size.prtotal=unlimited`: a plain search
 *   stops at 500 entries (sizeLimitExceeded, like AD's MaxPageSize 1000), while a
 *   search with the paged-results control gets everything (prtotal, slapd.conf(5)
 *   "limits"), so clients MUST page.
 *
 * Aliases: the stock Debian schema has no `mailAlternateAddress`; sites on OpenLDAP
 * use `mailLocalAddress` of the auxiliary class `inetLocalMailRecipient` from
 * misc.schema (the LASER mail-routing draft sendmail reads). `mail` holds the
 * primary address (one value); `mailLocalAddress` every address the person
 * receives at, primary included, as that draft intends.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ldapts';
import {
  LAB_HOST, delay, freePort, isAlive, labDir, labUser, logTail, spawnServer, stopPid,
} from './process.js';
import { LAB_SUFFIX, type LdapInfo, type ServerRecord } from './types.js';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const ADMIN_DN = `cn=admin,${LAB_SUFFIX}`;
const ADMIN_PASSWORD = 'secret';
/** The size limit a plain (unpaged) search hits. */
export const LAB_SIZE_LIMIT = 500;
/** Multi-valued attribute with every address a person receives at. */
export const ALIAS_ATTRIBUTE = 'mailLocalAddress';

export type LabSystem = 'legacy' | 'cloud';

export interface LabPerson {
  uid: string;
  cn: string;
  sn: string;
  givenName?: string;
  mail: string;
  aliases?: string[];
  title?: string;
  displayName?: string;
  telephoneNumber?: string;
}

export async function startSlapd(dir: string): Promise<{ info: LdapInfo; server: ServerRecord }> {
  const home = labDir(join(dir, 'ldap'));
  labDir(join(home, 'db'), 0o700);
  const port = await freePort();
  const conf = join(home, 'slapd.conf');
  writeFileSync(conf, slapdConf(home));
  seed(conf, home);
  const logFile = join(home, 'slapd.log');
  const url = `ldap://${LAB_HOST}:${port}`;
  // -d keeps slapd in the foreground (slapd(8): with -d it "will not fork");
  // `stats` logs connections, binds and results, which is what a log tail needs.
  const child = spawnServer({
    name: 'slapd', command: SLAPD, logFile,
    args: ['-d', 'stats', '-h', `${url}/`, '-f', conf],
  });
  const server: ServerRecord = { name: 'slapd', pid: child.pid, logFile };
  const info = ldapInfo(url, port);
  try {
    await waitForLdap(info, server);
  } catch (err) {
    await stopPid(server.pid);
    throw err;
  }
  return { info, server };
}

function ldapInfo(url: string, port: number): LdapInfo {
  const system = (name: LabSystem) => ({
    baseDn: `ou=${name},${LAB_SUFFIX}`,
    contactsDn: `ou=contacts,ou=${name},${LAB_SUFFIX}`,
  });
  return {
    url, port, suffix: LAB_SUFFIX, bindDn: ADMIN_DN, password: ADMIN_PASSWORD,
    systems: { legacy: system('legacy'), cloud: system('cloud') },
  };
}

function slapdConf(home: string): string {
  const schemas = ['core', 'cosine', 'inetorgperson', 'misc'];
  return [
    ...schemas.map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
    // Debian builds back_mdb as a module (/usr/lib/ldap/back_mdb.so).
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${join(home, 'slapd.pid')}`,
    `argsfile ${join(home, 'slapd.args')}`,
    `sizelimit size.soft=${LAB_SIZE_LIMIT} size.hard=${LAB_SIZE_LIMIT} size.prtotal=unlimited`,
    '',
    'database mdb',
    `suffix "${LAB_SUFFIX}"`,
    `directory ${join(home, 'db')}`,
    // mdb maps its file; the default 10 MB is too tight for bulk tests, and bench/directory
    // holds 100,000 people plus 200,000 contacts (~500 MB). Sparse file: costs only what is used.
    'maxsize 2147483648',
    'index objectClass eq',
    `index uid,mail,${ALIAS_ATTRIBUTE} eq`,
    // As every syncrepl provider has it: an incremental directory sync asks for entryCSN>=X
    // (src/directory/delta.ts), which back-mdb answers from this index instead of a scan.
    'index entryCSN eq',
    `access to attrs=userPassword by dn.exact="${ADMIN_DN}" write by anonymous auth by self write by * none`,
    `access to * by dn.exact="${ADMIN_DN}" write by * read`,
    '',
  ].join('\n');
}

/** Loads the base entries offline (slapadd, as the lab user so it owns the db). */
function seed(conf: string, home: string): void {
  const ldifFile = join(home, 'seed.ldif');
  writeFileSync(ldifFile, seedLdif());
  const u = labUser();
  try {
    execFileSync(SLAPADD, ['-f', conf, '-l', ldifFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(u.root ? { uid: u.uid, gid: u.gid } : {}),
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`slapd: slapadd of the base entries failed: ${e.stderr?.toString() ?? e.message}`, { cause: err });
  }
}

function seedLdif(): string {
  const entries = [
    [`dn: ${LAB_SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'dc: example', 'o: Example'],
    [`dn: ${ADMIN_DN}`, 'objectClass: organizationalRole', 'objectClass: simpleSecurityObject',
      'cn: admin', `userPassword: ${ADMIN_PASSWORD}`, 'description: lab directory administrator'],
  ];
  for (const system of ['legacy', 'cloud']) {
    entries.push([`dn: ou=${system},${LAB_SUFFIX}`, 'objectClass: organizationalUnit', `ou: ${system}`]);
    entries.push([`dn: ou=contacts,ou=${system},${LAB_SUFFIX}`, 'objectClass: organizationalUnit', 'ou: contacts']);
  }
  return entries.map((e) => e.join('\n')).join('\n\n') + '\n';
}

/** Ready means a real admin bind and a base search succeed; refused is retried. */
async function waitForLdap(info: LdapInfo, server: ServerRecord, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = 'no answer';
  while (Date.now() < deadline && isAlive(server.pid)) {
    try {
      const client = await ldapClient(info, 1000);
      try {
        await client.search(info.suffix, { scope: 'base', attributes: ['dc'] });
        return;
      } finally {
        await client.unbind();
      }
    } catch (err) {
      lastErr = (err as Error).message;
      await delay(30);
    }
  }
  const why = isAlive(server.pid) ? `timed out (${lastErr})` : 'process exited';
  throw new Error(`slapd on ${info.url} is not ready: ${why}${logTail(server.logFile)}`);
}

/** An ldapts client bound as the lab's directory administrator; the caller unbinds. */
export async function ldapClient(info: LdapInfo, timeoutMs = 5000): Promise<Client> {
  const client = new Client({ url: info.url, timeout: timeoutMs, connectTimeout: timeoutMs });
  try {
    await client.bind(info.bindDn, info.password);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw err;
  }
  return client;
}

/** RFC 4514 section 2.4 escaping of one attribute value inside a DN. */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[\\"+,;<>=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

export function personDn(info: LdapInfo, system: LabSystem, uid: string): string {
  return `uid=${escapeDnValue(uid)},${info.systems[system].baseDn}`;
}

export function personAttributes(p: LabPerson): Record<string, string | string[]> {
  const attrs: Record<string, string | string[]> = {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetLocalMailRecipient'],
    uid: p.uid, cn: p.cn, sn: p.sn, mail: p.mail,
    [ALIAS_ATTRIBUTE]: [p.mail, ...(p.aliases ?? []).filter((a) => a !== p.mail)],
  };
  const optional = { givenName: p.givenName, title: p.title, displayName: p.displayName, telephoneNumber: p.telephoneNumber };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) attrs[k] = v;
  return attrs;
}

/** Adds an inetOrgPerson under the system's people OU; returns its DN. */
export async function addPerson(info: LdapInfo, system: LabSystem, person: LabPerson): Promise<string> {
  const dn = personDn(info, system, person.uid);
  const client = await ldapClient(info);
  try {
    await client.add(dn, personAttributes(person));
  } finally {
    await client.unbind();
  }
  return dn;
}

export async function deletePerson(info: LdapInfo, dn: string): Promise<void> {
  const client = await ldapClient(info);
  try {
    await client.del(dn);
  } finally {
    await client.unbind();
  }
}

/** LDIF of people, one entry each, for ldapAddLdif (bulk loads in one process). */
export function peopleLdif(info: LdapInfo, system: LabSystem, people: LabPerson[]): string {
  return people.map((p) => {
    const lines = [ldifLine('dn', personDn(info, system, p.uid))];
    for (const [k, v] of Object.entries(personAttributes(p))) {
      for (const value of Array.isArray(v) ? v : [v]) lines.push(ldifLine(k, value));
    }
    return lines.join('\n');
  }).join('\n\n') + '\n';
}

/** RFC 2849: values that are not SAFE-STRING go base64 (`attr:: ...`). */
function ldifLine(attr: string, value: string): string {
  const safe = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${attr}: ${value}` : `${attr}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

/** Runs ldapadd with the LDIF on stdin, bound as the administrator. */
export function ldapAddLdif(info: LdapInfo, ldif: string): void {
  try {
    execFileSync('ldapadd', ['-x', '-H', info.url, '-D', info.bindDn, '-w', info.password], {
      input: ldif, stdio: ['pipe', 'ignore', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`slapd: ldapadd into ${info.url} failed: ${e.stderr?.toString() ?? e.message}`, { cause: err });
  }
}
