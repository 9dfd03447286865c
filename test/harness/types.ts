/**
 * What a running lab looks like. `lab up DIR` writes this as DIR/lab.json, and
 * tests, the demo and benchmarks read it back (attachLab). Every port is a free
 * loopback port picked at start; nothing uses standard ports or /etc.
 */
export const LAB_DOMAIN = 'example.com';
export const LAB_SUFFIX = 'dc=example,dc=com';

export interface ServerRecord {
  name: string;
  pid: number;
  logFile: string;
}

export interface DovecotInfo {
  system: 'legacy' | 'cloud';
  dir: string;
  config: string;          // dovecot.conf, usable with `doveadm -c`
  imapPort: number;
  lmtpPort: number;
  passwdFile: string;      // users: address:{PLAIN}password::::::
  masterUser: string;      // log in as "<address>*<masterUser>"
  masterPassword: string;
  hierarchySeparator: string; // legacy uses '.', cloud '/' so mapping is exercised
}

export interface LdapInfo {
  url: string;             // ldap://127.0.0.1:PORT
  port: number;
  suffix: string;          // dc=example,dc=com
  bindDn: string;          // cn=admin,dc=example,dc=com
  password: string;
  /** Per system: people OU and contacts OU. */
  systems: Record<'legacy' | 'cloud', { baseDn: string; contactsDn: string }>;
}

export interface RadicaleInfo {
  url: string;             // http://127.0.0.1:PORT/
  port: number;
  adminUser: string;       // may read every calendar
  adminPassword: string;
  htpasswdFile: string;    // plain-text users file
  storageDir: string;
}

export interface PostfixInfo {
  smtpPort: number;        // Postfix smtpd, delivers example.com over LMTP into `deliversTo`
  configDir: string;
  queueDir: string;
  deliversTo: 'legacy' | 'cloud';
}

export interface PostgresInfo {
  port: number;
  socketDir: string;
  url: string;             // postgres://USER@127.0.0.1:PORT/mailbridge
  dataDir: string;
}

export interface LabInfo {
  dir: string;
  startedAt: string;
  domain: string;
  dovecot: Record<'legacy' | 'cloud', DovecotInfo>;
  ldap?: LdapInfo;
  radicale?: RadicaleInfo;
  postfix?: PostfixInfo;
  postgres?: PostgresInfo;
  servers: ServerRecord[];
}

export type LabComponent = 'dovecot' | 'ldap' | 'radicale' | 'postfix' | 'postgres';

/** A mail user made for one test: unique address, its password, where it lives. */
export interface LabMailUser {
  address: string;
  password: string;
  system: 'legacy' | 'cloud';
}
