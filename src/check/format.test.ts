import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCheckReport } from './format.js';
import { checkExitCode } from './run.js';
import type { CheckReport } from './types.js';

const report: CheckReport = {
  ok: false,
  startedAt: '2024-05-01T10:00:00.000Z',
  durationMs: 10_004,
  results: [
    { system: 'legacy', endpoint: 'imap', target: '127.0.0.1:10143', ok: true, latencyMs: 43,
      summary: '* OK greeting, login master ok as a@example.com, IMAP4rev1 UIDPLUS', details: {} },
    { system: 'cloud', endpoint: 'ldap', target: 'ldap://127.0.0.1:3389', ok: false, latencyMs: 10_002,
      summary: 'timed out after 10s waiting for the bind answer',
      error: { code: 'CHECK_TIMEOUT', reason: 'timed out after 10s waiting for the bind answer' }, details: {} },
  ],
};

test('one aligned line per endpoint', () => {
  assert.equal(formatCheckReport(report),
    '✔ legacy  imap  127.0.0.1:10143           43ms  * OK greeting, login master ok as a@example.com, IMAP4rev1 UIDPLUS\n' +
    '✘ cloud   ldap  ldap://127.0.0.1:3389  10002ms  timed out after 10s waiting for the bind answer\n');
});

test('color marks the failures in red and the passes in green', () => {
  const out = formatCheckReport(report, { color: true });
  assert.ok(out.startsWith('\x1b[32m✔\x1b[0m legacy'));
  assert.ok(out.includes('\x1b[31m✘\x1b[0m cloud'));
  assert.ok(out.includes('\x1b[31mtimed out after 10s waiting for the bind answer\x1b[0m'));
});

test('an empty report says so', () => {
  assert.equal(formatCheckReport({ ok: true, startedAt: '', durationMs: 0, results: [] }), 'no endpoints configured\n');
});

test('exit code: 3 when something could not be reached, 1 for other failures, 0 when all pass', () => {
  assert.equal(checkExitCode(report), 3);
  const auth = { ...report, results: [{ ...report.results[1]!, error: { code: 'CHECK_AUTH' as const, reason: 'bad credentials' } }] };
  assert.equal(checkExitCode(auth), 1);
  assert.equal(checkExitCode({ ...report, ok: true, results: [report.results[0]!] }), 0);
});
