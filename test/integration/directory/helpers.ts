/**
 * Helpers for the directory tests: a private tree per test under the lab's
 * suffix (people OUs with their contacts OUs below them, as in the lab), a
 * config pointing at it, a store in a temp dir, and people with unique
 * addresses, so tests never see each other's entries.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'ldapts';
import { parseConfig, type Config } from '../../../src/config/index.js';
import { silentLogger } from '../../../src/observe/index.js';
import { escapeDnValue } from '../../../src/protocol/ldap/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { runDirectorySync, type SyncOptions, type SyncResult } from '../../../src/directory/index.js';
import { ALIAS_ATTRIBUTE, ldapClient, type LabInfo } from '../../harness/index.js';

export type Sys = 'legacy' | 'cloud';

export interface Tree {
  tag: string;
  root: string;
  base: Record<Sys, string>;
  contacts: Record<Sys, string>;
  dir: string;
  store: Store;
  config: Config;
  /** The config text (write it to a file for the command line). */
  yaml: string;
  addr(local: string): string;
  sync(opts?: SyncOptions): Promise<SyncResult>;
  add(system: Sys, p: Person, under?: string): Promise<string>;
  client(): Promise<Client>;
  search(base: string, filter?: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export interface Person { uid: string; cn: string; sn?: string; mail: string; aliases?: string[]; displayName?: string; title?: string }

export async function makeTree(
  lab: LabInfo, opts: { extraYaml?: string; systems?: Partial<Record<Sys, string>>; postgres?: string; directory?: string; ldap?: string } = {},
): Promise<Tree> {
  const ldap = lab.ldap!;
  const tag = `d${randomBytes(4).toString('hex')}`;
  const root = `ou=${tag},${ldap.suffix}`;
  const base = { legacy: `ou=legacy,${root}`, cloud: `ou=cloud,${root}` };
  const contacts = { legacy: `ou=contacts,${base.legacy}`, cloud: `ou=contacts,${base.cloud}` };
  const c = await ldapClient(ldap);
  try {
    for (const dn of [root, base.legacy, base.cloud, contacts.legacy, contacts.cloud]) {
      await c.add(dn, { objectClass: ['organizationalUnit'], ou: /^ou=([^,]+)/.exec(dn)![1]! });
    }
  } finally {
    await c.unbind();
  }
  const dir = mkdtempSync(join(tmpdir(), 'mb-dir-'));
  const sys = (s: Sys) => opts.systems?.[s] ?? [
    `  ${s}:`,
    `    ldap: { url: "${ldap.url}", bindDn: "${ldap.bindDn}", password: "${ldap.password}",`,
    `            baseDn: "${base[s]}", contactsDn: "${contacts[s]}"${opts.ldap ? `, ${opts.ldap}` : ''} }`,
  ].join('\n');
  const yaml = [
    'organization: Test', 'domains: [example.com]',
    opts.postgres ? `store: { postgres: "${opts.postgres}" }` : `store: { sqlite: "${join(dir, 'mb.db')}" }`,
    'systems:', sys('legacy'), sys('cloud'),
    // Everything in a test changes within seconds: without an overlap, a run reads by change exactly what changed
    // since the last one (tests of the overlap set it through `directory`).
    `directory: { ${opts.directory?.includes('changeOverlap') ? '' : 'changeOverlap: 0s, '}${opts.directory ?? ''} }`,
    opts.extraYaml ?? '',
  ].join('\n');
  const config = parseConfig(yaml, join(dir, 'mailbridge.yaml'), {});
  const store = await openStore(config.store);
  const tree: Tree = {
    tag, root, base, contacts, dir, store, config, yaml,
    addr: (local) => `${local}.${tag}@example.com`,
    sync: (o) => runDirectorySync({ store, log: silentLogger(), settings: config }, o),
    async add(system, p, under) {
      const dn = `uid=${escapeDnValue(p.uid)},${under ?? base[system]}`;
      const attrs: Record<string, string | string[]> = {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'inetLocalMailRecipient'],
        uid: p.uid, cn: p.cn, sn: p.sn ?? p.cn, mail: p.mail, [ALIAS_ATTRIBUTE]: [p.mail, ...(p.aliases ?? [])],
      };
      if (p.displayName) attrs.displayName = p.displayName;
      if (p.title) attrs.title = p.title;
      const cl = await ldapClient(ldap);
      try { await cl.add(dn, attrs); } finally { await cl.unbind(); }
      return dn;
    },
    client: () => ldapClient(ldap),
    async search(b, filter = '(objectClass=inetOrgPerson)') {
      const cl = await ldapClient(ldap);
      try {
        const r = await cl.search(b, { scope: 'sub', filter, attributes: ['*'], paged: { pageSize: 200 } });
        return r.searchEntries as Record<string, unknown>[];
      } finally { await cl.unbind(); }
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      await deleteTree(lab, root);
    },
  };
  return tree;
}

async function deleteTree(lab: LabInfo, root: string): Promise<void> {
  const c = await ldapClient(lab.ldap!);
  try {
    const r = await c.search(root, { scope: 'sub', attributes: ['1.1'], paged: { pageSize: 200 } });
    // Deepest first: a DN with more RDNs is below one with fewer.
    const dns = r.searchEntries.map((e) => e.dn).sort((a, b) => b.split(',').length - a.split(',').length);
    for (const dn of dns) await c.del(dn).catch(() => undefined);
  } finally {
    await c.unbind();
  }
}
