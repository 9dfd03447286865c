/**
 * Mail helpers for migration tests: the SAME address on both Dovecots of the
 * lab (a mailbox moving from legacy to cloud), and building a mailbox's content
 * over IMAP through the master user.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { LAB_HOST } from './process.js';
import { waitForMailUser } from './dovecot.js';
import type { DovecotInfo, LabInfo } from './types.js';

export interface MigrationPair {
  address: string;
  /** The user's own password, the same on both systems. */
  password: string;
}

/** `count` addresses that exist on both the legacy and the cloud Dovecot. */
export async function newMigrationUsers(lab: LabInfo, count: number, local = 'mig'): Promise<MigrationPair[]> {
  const users = Array.from({ length: count }, () => ({
    address: `t${randomBytes(5).toString('hex')}-${local}@${lab.domain}`,
    password: randomBytes(12).toString('base64url'),
  }));
  const lines = users.map((u) => `${u.address}:{PLAIN}${u.password}::::::\n`).join('');
  for (const system of ['legacy', 'cloud'] as const) appendFileSync(lab.dovecot[system].passwdFile, lines);
  const last = users[users.length - 1]!;
  await Promise.all((['legacy', 'cloud'] as const).map((s) => waitForMailUser(lab.dovecot[s], last.address)));
  return users;
}

export async function newMigrationUser(lab: LabInfo, local = 'mig'): Promise<MigrationPair> {
  const [u] = await newMigrationUsers(lab, 1, local);
  return u!;
}

/** An IMAP session as the user, through the master user. Caller logs out. */
/** How many messages the INBOX of ADDRESS holds on that Dovecot (over IMAP STATUS, as the master user). */
export async function inboxCount(info: DovecotInfo, address: string): Promise<number> {
  const c = await masterSession(info, address);
  try {
    const s = await c.status('INBOX', { messages: true });
    return s ? s.messages ?? -1 : -1;
  } finally {
    await c.logout();
  }
}

export async function masterSession(info: DovecotInfo, address: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: LAB_HOST, port: info.imapPort, secure: false, doSTARTTLS: false, logger: false, disableAutoIdle: true,
    auth: { user: `${address}*${info.masterUser}`, pass: info.masterPassword },
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
