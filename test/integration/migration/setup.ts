/**
 * Shared setup of the migration suites: engine deps built from the lab (legacy
 * -> cloud through the master user), a private SQLite store per test, and
 * helpers to read a mailbox back.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { ImapFlow } from 'imapflow';
import { Secret } from '../../../src/core/index.js';
import type { MigrationConfig, SystemConfig } from '../../../src/config/index.js';
import { silentLogger } from '../../../src/observe/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import type { EngineDeps } from '../../../src/migration/index.js';
import { LAB_HOST, type DovecotInfo, type LabInfo } from '../../harness/index.js';
import { masterSession } from '../../harness/mail.js';

export function systemOf(info: DovecotInfo, mode: 'master' | 'authzid' = 'master'): SystemConfig {
  return {
    name: info.system,
    imap: { host: LAB_HOST, port: info.imapPort, tls: 'none', admin: { user: info.masterUser, password: new Secret(info.masterPassword), mode } },
  };
}

export function migrationConfig(over: Partial<MigrationConfig> = {}): MigrationConfig {
  return { from: 'legacy', to: 'cloud', concurrency: 2, deleteOnTarget: false, skipDeleted: true, ...over };
}

export async function tempStore(file?: string): Promise<Store> {
  return openStore({ sqlite: file ?? join(mkdtempSync(join(tmpdir(), 'mb-mig-')), 'state.db') });
}

export function engineDeps(lab: LabInfo, store: Store, over: Partial<EngineDeps> = {}): EngineDeps {
  return { migration: migrationConfig(), source: systemOf(lab.dovecot.legacy), target: systemOf(lab.dovecot.cloud), db: store.db, log: silentLogger(), ...over };
}

export interface Snapshot { uid: number; sha: string; flags: string[]; date: string; size: number }

/** Every message of a folder (EXAMINE, BODY.PEEK[]): hash, flags without \Recent, INTERNALDATE. */
export async function snapshot(client: ImapFlow, path: string): Promise<Snapshot[]> {
  const box = await client.mailboxOpen(path, { readOnly: true });
  const out: Snapshot[] = [];
  if (box.exists === 0) return out;
  for await (const m of client.fetch('1:*', { uid: true, source: true, flags: true, internalDate: true }, { uid: true })) {
    out.push({
      uid: m.uid, sha: createHash('sha256').update(m.source!).digest('hex'), size: m.source!.length,
      flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(), date: new Date(m.internalDate!).toISOString(),
    });
  }
  return out;
}

export async function withSession<T>(info: DovecotInfo, address: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = await masterSession(info, address);
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => c.close());
  }
}

/** Content as a multiset of (sha, flags, date), for comparing folders whose UIDs differ. */
export function contentOf(s: Snapshot[]): string[] {
  return s.map((x) => `${x.sha} ${x.flags.join(',')} ${x.date}`).sort();
}

export function msg(subject: string, extra = '', body = 'hello\r\n'): Buffer {
  return Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${Math.random().toString(36).slice(2)}@example.com>\r\n${extra}\r\n${body}`);
}
