import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOverview, type CheckRow } from './overview.js';

const NOW = 10_000_000;
const row = (system: string, endpoint: string, ok: boolean, ageMs = 1000, detail: string | null = null): CheckRow =>
  ({ system, endpoint, ok, detail, latencyMs: 5, checkedAt: NOW - ageMs });

test('green, red and grey lights; the worst system and problem first', () => {
  const o = buildOverview({
    organization: 'Org', now: NOW, staleAfterMs: 60_000,
    expected: { legacy: ['smtp', 'imap', 'ldap'], cloud: ['lmtp', 'imap', 'caldav'] },
    checks: [
      row('legacy', 'smtp', true), row('legacy', 'imap', true), row('legacy', 'ldap', true, 120_000),
      row('cloud', 'lmtp', true), row('cloud', 'imap', false, 1000, 'connection refused'),
      row('old', 'imap', false),
    ],
  });
  assert.equal(o.light, 'red');
  assert.deepEqual(o.systems.map((s) => [s.name, s.light]), [['cloud', 'red'], ['legacy', 'grey']]);
  assert.deepEqual(o.systems[0]!.endpoints.map((e) => [e.endpoint, e.light]), [['imap', 'red'], ['caldav', 'grey'], ['lmtp', 'green']]);
  assert.deepEqual(o.problems.map((p) => `${p.light} ${p.system} ${p.endpoint}`), ['red cloud imap', 'grey cloud caldav', 'grey legacy ldap']);
  assert.equal(o.problems[0]!.detail, 'connection refused');
  assert.equal(o.problems[0]!.anchor, 'ep-cloud-imap');
  assert.equal(o.problems[1]!.detail, 'not checked yet');
  assert.match(o.problems[2]!.detail, /no result for 2 min \(last: ok/);
  assert.ok(!o.systems.some((s) => s.name === 'old'), 'systems no longer configured are left out');
});

test('all green; without `expected` whatever was checked is shown', () => {
  const o = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 60_000, checks: [row('a', 'imap', true), row('b', 'smtp', true)] });
  assert.equal(o.light, 'green');
  assert.deepEqual(o.problems, []);
  assert.deepEqual(o.systems.map((s) => s.name), ['a', 'b']);
});

test('subsystems that have not landed say so; a directory run is shown as recorded', () => {
  const none = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 1, checks: [] });
  assert.deepEqual(none.subsystems.gateway, { available: false, note: 'no gateway runs in this process' });
  assert.deepEqual(none.subsystems.directory, { available: false, note: 'not available yet' });
  assert.deepEqual(none.subsystems.migration, { available: false, note: 'not available yet' });
  const never = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 1, checks: [], runs: { directory: null } });
  assert.deepEqual(never.subsystems.directory, { available: true, light: 'grey', summary: 'no directory run recorded yet', run: null });
  const run = { kind: 'directory', startedAt: NOW - 5000, finishedAt: NOW - 4000, status: 'failed', counts: {}, error: 'ldap down' };
  const failed = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 1, checks: [], runs: { directory: run } });
  assert.deepEqual(failed.subsystems.directory, { available: true, light: 'red', summary: 'last run failed: ldap down', run });
  const okRun = { ...run, status: 'ok', error: null, counts: { added: 2, conflicts: 0 } };
  const ok = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 1, checks: [], runs: { directory: okRun } });
  assert.equal(ok.subsystems.directory.available && ok.subsystems.directory.summary, 'last run ok: added 2, conflicts 0');
});

test('gateway queue: figures per destination; an old waiting message turns it red and leads the problems to #/queue', () => {
  const checks = [row('cloud', 'imap', true), row('cloud', 'probe-mail', false, 1000, 'imap 127.0.0.1:1: connection refused (ECONNREFUSED)')];
  const calm = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 60_000, checks: [row('cloud', 'imap', true)],
    queue: [{ destination: 'cloud', messages: 2, recipients: 3, oldestAgeMs: 90_000 }] });
  assert.equal(calm.light, 'green');
  assert.ok(calm.subsystems.gateway.available);
  assert.equal(calm.subsystems.gateway.available && calm.subsystems.gateway.summary, '3 recipient(s) waiting, oldest 2 min');
  assert.equal(calm.subsystems.gateway.available && calm.subsystems.gateway.link, '#/queue');
  const stuck = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 60_000, checks, queueAlarmMs: 60_000,
    queue: [{ destination: 'held', messages: 1, recipients: 1, oldestAgeMs: 9_000_000 }, { destination: 'cloud', messages: 1, recipients: 1, oldestAgeMs: 120_000 }] });
  assert.equal(stuck.subsystems.gateway.available && stuck.subsystems.gateway.light, 'red');
  assert.deepEqual(stuck.problems.map((p) => `${p.light} ${p.system} ${p.endpoint} ${p.href}`), ['red cloud probe-mail #ep-cloud-probe-mail', 'red gateway queue #/queue']);
  // A held message alone is not a stuck queue: someone held it on purpose.
  const held = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 60_000, checks: [], queueAlarmMs: 60_000,
    queue: [{ destination: 'held', messages: 1, recipients: 1, oldestAgeMs: 9_000_000 }] });
  assert.equal(held.subsystems.gateway.available && held.subsystems.gateway.light, 'green');
});

test('migration progress and directory conflicts: figures, and problems linking to their pages', () => {
  const o = buildOverview({ organization: 'Org', now: NOW, staleAfterMs: 60_000, checks: [], conflicts: 2,
    runs: { directory: { kind: 'directory', startedAt: NOW - 5000, finishedAt: NOW - 4000, status: 'ok', counts: { added: 1 }, error: null } },
    migration: { users: { synced: 3, failed: 1 }, totalUsers: 10, messagesCopied: 120, bytesCopied: 4096, etaMs: 60_000 } });
  const m = o.subsystems.migration;
  assert.ok(m.available);
  assert.equal(m.available && m.light, 'red');
  assert.equal(m.available && m.progress?.messagesCopied, 120);
  assert.equal(o.subsystems.directory.available && o.subsystems.directory.conflicts, 2);
  assert.deepEqual(o.problems.map((p) => `${p.light} ${p.system} ${p.endpoint} ${p.href}`), ['red migration users #/migration', 'grey directory conflicts #/directory']);
  assert.equal(o.light, 'red');
});
