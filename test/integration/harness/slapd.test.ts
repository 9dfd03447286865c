/**
 * The lab's slapd: starts for real, an admin bind works, people can be added,
 * found and deleted, and the size limit forces paged searches.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SizeLimitExceededError } from 'ldapts';
import { isAlive, labDir, labUser, stopPid } from '../../harness/process.js';
import {
  ALIAS_ATTRIBUTE, LAB_SIZE_LIMIT, addPerson, deletePerson, ldapAddLdif, ldapClient, peopleLdif,
  startSlapd, type LabPerson,
} from '../../harness/slapd.js';
import type { LdapInfo, ServerRecord } from '../../harness/types.js';

describe('lab slapd', () => {
  // labDir: the lab user must be able to enter the (root-owned, 0700) temp dir.
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-slapd-')));
  let info: LdapInfo;
  let server: ServerRecord | undefined;

  before(async () => {
    const t0 = Date.now();
    ({ info, server } = await startSlapd(dir));
    console.log(`slapd ready in ${Date.now() - t0} ms on ${info.url}`);
  });

  after(async () => {
    if (server) await stopPid(server.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  void it('runs as the lab user, not root', () => {
    const status = readFileSync(`/proc/${server!.pid}/status`, 'utf8');
    assert.equal(Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]), labUser().uid);
  });

  void it('binds as admin and finds both systems\' OUs', async () => {
    const client = await ldapClient(info);
    try {
      const { searchEntries } = await client.search(info.suffix, { filter: '(objectClass=organizationalUnit)' });
      const dns = searchEntries.map((e) => e.dn.toLowerCase()).sort();
      for (const s of Object.values(info.systems)) {
        assert.ok(dns.includes(s.baseDn), s.baseDn);
        assert.ok(dns.includes(s.contactsDn), s.contactsDn);
      }
    } finally {
      await client.unbind();
    }
  });

  void it('adds a person with aliases, finds them by any address, deletes them', async () => {
    const dn = await addPerson(info, 'legacy', {
      uid: 'o,brien+1', cn: "Pat O'Brien", sn: "O'Brien", givenName: 'Pat',
      mail: 'pat.obrien@example.com', aliases: ['pat@example.com'], title: 'Engineer',
    });
    const client = await ldapClient(info);
    try {
      const { searchEntries } = await client.search(info.systems.legacy.baseDn, {
        filter: `(${ALIAS_ATTRIBUTE}=pat@example.com)`, attributes: ['uid', 'mail', ALIAS_ATTRIBUTE, 'title'],
      });
      assert.equal(searchEntries.length, 1);
      const e = searchEntries[0]!;
      assert.equal(e.uid, 'o,brien+1');
      assert.equal(e.mail, 'pat.obrien@example.com');
      assert.deepEqual([e[ALIAS_ATTRIBUTE]].flat().sort(), ['pat.obrien@example.com', 'pat@example.com']);
      await deletePerson(info, dn);
      const again = await client.search(info.systems.legacy.baseDn, { filter: '(uid=o,brien+1)' });
      assert.equal(again.searchEntries.length, 0);
    } finally {
      await client.unbind();
    }
  });

  void it('stops a plain search at the size limit and returns everything when paged', async () => {
    const count = LAB_SIZE_LIMIT + 100;
    const people: LabPerson[] = Array.from({ length: count }, (_, i) => ({
      uid: `bulk${i}`, cn: `Bulk Person ${i}`, sn: `Person${i}`, mail: `bulk${i}@example.com`,
    }));
    ldapAddLdif(info, peopleLdif(info, 'cloud', people));
    const client = await ldapClient(info);
    try {
      const filter = '(uid=bulk*)';
      const base = info.systems.cloud.baseDn;
      await assert.rejects(client.search(base, { filter, attributes: ['uid'] }), SizeLimitExceededError);
      const paged = await client.search(base, { filter, attributes: ['uid'], paged: { pageSize: 200 } });
      assert.equal(paged.searchEntries.length, count);
    } finally {
      await client.unbind();
    }
  });

  void it('is stopped by PID', async () => {
    await stopPid(server!.pid);
    assert.equal(isAlive(server!.pid), false);
    server = undefined;
  });
});
