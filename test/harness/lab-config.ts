/** Writes a mailbridge configuration that points at a running lab. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabInfo } from './types.js';

export interface LabConfigOptions {
  webPort: number;
  gatewayPort: number;
  passwordHash: string;
  comment?: string;
  /** Master passwords as literals instead of env references (tests). */
  literalSecrets?: boolean;
  /** probes.mailboxes: a real mailbox per system, so checks log in as a real user. */
  probeMailboxes?: Partial<Record<'legacy' | 'cloud', string>>;
}

/**
 * A mailbridge.yaml for a running lab: legacy is an on-premises Postfix+Dovecot
 * reading people from LDAP, cloud takes LMTP directly and has a CSV of people.
 * Relative paths (CSV, secrets, store) are relative to where the file is written.
 */
export function labConfigYaml(lab: LabInfo, o: LabConfigOptions): string {
  const { webPort, gatewayPort, passwordHash: hash } = o;
  const sys = (name: 'legacy' | 'cloud'): string => {
    const dv = lab.dovecot[name];
    // legacy receives through its Postfix (an on-premises MTA); cloud takes LMTP directly.
    const smtp = name === 'legacy' && lab.postfix
      ? `{ host: 127.0.0.1, port: ${lab.postfix.smtpPort}, protocol: smtp, tls: none }`
      : `{ host: 127.0.0.1, port: ${dv.lmtpPort}, protocol: lmtp, tls: none }`;
    // legacy reads its people from LDAP, cloud from a CSV export: both kinds of source.
    const ldap = lab.ldap && name === 'legacy' ? `
    ldap:
      url: "${lab.ldap.url}"
      bindDn: "${lab.ldap.bindDn}"
      password: { file: ./ldap-password }
      baseDn: "${lab.ldap.systems[name].baseDn}"
      filter: "(objectClass=inetOrgPerson)"
      contactsDn: "${lab.ldap.systems[name].contactsDn}"` : '';
    const caldav = lab.radicale ? `
    caldav: { url: "${lab.radicale.url}", user: ${lab.radicale.adminUser}, password: ${lab.radicale.adminPassword}, home: "{local}/" }` : '';
    return `  ${name}:
    smtp: ${smtp}
    imap: { host: 127.0.0.1, port: ${dv.imapPort}, tls: none, admin: { user: ${dv.masterUser}, password: ${o.literalSecrets ? JSON.stringify(dv.masterPassword) : `{ env: MAILBRIDGE_DEMO_MASTER_${name.toUpperCase()} }`} } }${ldap}
${name === 'cloud' ? '\n    users: ./cloud-users.csv' : ''}${caldav}`;
  };
  return `# mailbridge in front of the lab's real servers (written by the lab harness).
organization: Example Group (demo)
domains: [example.com]
store: { sqlite: ./var/mailbridge.db }
systems:
${sys('legacy')}
${sys('cloud')}
gateway:
  listen: [{ host: 127.0.0.1, port: ${gatewayPort} }]
  spool: ./var/spool
  relayNetworks: [127.0.0.0/8]
migration:
  from: legacy
  to: cloud
  users: ./migration-users.csv
web:
  listen: { host: 127.0.0.1, port: ${webPort} }
  users: [{ name: admin, passwordHash: "${hash}" }]${o.comment ? `   # ${o.comment}` : ''}
  metrics: { public: true }
probes:
  interval: 1m${probeBlock(o.probeMailboxes)}
`;
}

export interface LabPersonRow { address: string; name: string; system: 'legacy' | 'cloud' }

/**
 * Writes DIR/mailbridge.yaml and the files it names (cloud-users.csv,
 * migration-users.csv, ldap-password); returns the config path.
 */
export function writeLabConfig(dir: string, lab: LabInfo, o: LabConfigOptions, people: LabPersonRow[] = []): string {
  mkdirSync(dir, { recursive: true });
  const rows = (system: 'legacy' | 'cloud'): string[] => people.filter((p) => p.system === system).map((p) => `${p.address},${p.name},`);
  writeFileSync(join(dir, 'cloud-users.csv'), ['address,name,aliases', ...rows('cloud')].join('\n') + '\n');
  writeFileSync(join(dir, 'migration-users.csv'), ['address', ...people.filter((p) => p.system === 'legacy').map((p) => p.address)].join('\n') + '\n');
  writeFileSync(join(dir, 'ldap-password'), `${lab.ldap?.password ?? ''}\n`, { mode: 0o600 });
  const file = join(dir, 'mailbridge.yaml');
  writeFileSync(file, labConfigYaml(lab, o));
  return file;
}

function probeBlock(boxes: LabConfigOptions['probeMailboxes']): string {
  const entries = Object.entries(boxes ?? {});
  if (entries.length === 0) return '';
  return `\n  mailboxes:\n${entries.map(([system, address]) => `    ${system}: { address: "${address}" }`).join('\n')}`;
}
