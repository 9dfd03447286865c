/**
 * The console as an administrator uses it: `mailbridge serve` running for real
 * (the binary, as a child process) on the lab, Chromium driven by
 * playwright-core. Log in, see green lights, run a check from the page; then
 * stop a private cloud Dovecot and watch its lights turn red without a reload
 * (the page's server-sent events stream); log out. Screenshots go to
 * test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { hashPassword } from '../../src/core/index.js';
import { delay, freePort, labDir, newMailUser, startDovecot, stopPid, useLab, type LabInfo } from '../harness/index.js';
import { writeLabConfig } from '../harness/lab-config.js';

const bin = new URL('../../bin/mailbridge.js', import.meta.url).pathname;
const shots = new URL('../../test-output/console/', import.meta.url).pathname;
const PASSWORD = 'console test password';

let serve: ChildProcess | undefined;
let context: BrowserContext | undefined;
let base = '';
let logFile = '';
let cloudPid = 0;

async function waitReady(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await delay(100);
  }
  throw new Error(`serve not ready after ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
}

// At the top level: its `after` hook then belongs to the file, not to the `before` hook below.
// Alone, a private lab of the two Dovecots is enough; under scripts/test.mjs the shared full lab is used.
const lab = await useLab(undefined, { only: ['dovecot'] });

before(async () => {
  // A private cloud Dovecot: this test stops it, the shared lab's keeps running.
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-console-')));
  const priv = await startDovecot(join(dir, 'cloud-dovecot'), 'cloud');
  cloudPid = priv.server.pid;
  const mixed: LabInfo = { ...lab, dovecot: { ...lab.dovecot, cloud: priv.info } };
  const legacyProbe = await newMailUser(mixed, 'legacy', { local: 'probe' });
  const cloudProbe = await newMailUser(mixed, 'cloud', { local: 'probe' });
  const webPort = await freePort();
  const config = writeLabConfig(join(dir, 'mb'), mixed, {
    webPort, gatewayPort: await freePort(), passwordHash: await hashPassword(PASSWORD), literalSecrets: true,
    probeMailboxes: { legacy: legacyProbe.address, cloud: cloudProbe.address },
  });
  logFile = join(dir, 'serve.log');
  const out = openSync(logFile, 'a');
  serve = spawn(process.execPath, [bin, '--config', config, 'serve'], { stdio: ['ignore', out, out], env: { ...process.env, MAILBRIDGE_LOG_LEVEL: 'info' } });
  base = `http://127.0.0.1:${webPort}`;
  await waitReady(`${base}/readyz`, serve);
  mkdirSync(shots, { recursive: true });
  // A fresh profile each run (playwright takes the profile folder as an argument, not as --user-data-dir).
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'mb-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await context?.close();
  if (serve?.pid) await stopPid(serve.pid, 10_000);
  if (cloudPid) await stopPid(cloudPid);
});

/** The light of one endpoint row on the overview, as the page shows it now. */
function rowLight(page: Page, system: string, endpoint: string): Promise<string | null> {
  return page.locator(`tr.endpoint[data-system="${system}"][data-endpoint="${endpoint}"]`).getAttribute('data-light');
}

test('log in, green lights, a stopped server turns red live, log out', async () => {
  assert.ok(context);
  const page = context.pages()[0] ?? await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  // Without a session the console sends us to the login page; a wrong password is refused.
  await page.goto(`${base}/`);
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.fill('#name', 'admin');
  await page.fill('#password', 'wrong');
  await page.click('#login-submit');
  await page.locator('#login-error').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#login-error').textContent(), 'Wrong name or password.');
  await page.screenshot({ path: join(shots, '1-login-refused.png') });

  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(`${base}/`);
  const cookie = (await context.cookies()).find((c) => c.name === 'mailbridge_session');
  assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', 'session cookie is HttpOnly and SameSite=Strict');

  // The first check round runs when serve starts; every endpoint of both systems turns green.
  await page.locator('#overall[data-light="green"]').waitFor({ timeout: 30_000 });
  const rows = page.locator('tr.endpoint');
  const lights = await rows.evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-system')} ${tr.getAttribute('data-endpoint')} ${tr.getAttribute('data-light')}`));
  assert.ok(lights.length >= 5, lights.join(', '));
  for (const l of lights) assert.match(l, / green$/);
  assert.equal(await rowLight(page, 'cloud', 'imap'), 'green');
  assert.equal(await page.locator('#sub-gateway').textContent().then((t) => t?.includes('not available yet')), true);
  await page.screenshot({ path: join(shots, '2-overview-green.png'), fullPage: true });

  // "Check now" from the page: a POST with the session's CSRF token, recorded in the audit log.
  await page.click('#recheck');
  await page.locator('#recheck', { hasText: /^Checked \d+ in/ }).waitFor({ timeout: 30_000 });
  await page.locator('#audit tbody tr', { hasText: 'checks.run' }).first().waitFor();

  // Stop the cloud Dovecot and trigger a round from outside the page (as the scheduler
  // would): the page learns of it only through its event stream.
  await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 42; });
  await stopPid(cloudPid);
  const session = await context.request.get(`${base}/api/session`).then((r) => r.json() as Promise<{ csrfToken: string }>);
  const run = await context.request.post(`${base}/api/checks/run`, { headers: { 'x-csrf-token': session.csrfToken } });
  assert.equal(run.status(), 200);
  await page.locator('tr.endpoint[data-system="cloud"][data-endpoint="imap"][data-light="red"]').waitFor({ timeout: 15_000 });
  assert.equal(await rowLight(page, 'cloud', 'lmtp'), 'red');
  assert.equal(await rowLight(page, 'legacy', 'imap'), 'green', await page.locator('#systems').innerText());
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'same document: no reload');
  // The worst problem first, in red, linking to its row; the failing system's card first.
  const first = page.locator('#summary li.problem').first();
  assert.match(await first.textContent() ?? '', /cloud (imap|lmtp)/);
  assert.equal(await first.locator('.light').getAttribute('data-light'), 'red');
  assert.equal(await page.locator('article.card').first().getAttribute('data-system'), 'cloud');
  await page.screenshot({ path: join(shots, '3-overview-cloud-red.png'), fullPage: true });
  await first.locator('a').click();
  assert.match(page.url(), /#ep-cloud-(imap|lmtp)$/);

  // Log out: back to the login page, and the API refuses the old cookie.
  await page.click('#logout');
  await page.waitForURL(`${base}/login`);
  const refused = await context.request.get(`${base}/api/overview`);
  assert.equal(refused.status(), 401);
  await page.screenshot({ path: join(shots, '4-logged-out.png') });
  assert.deepEqual(consoleErrors.filter((e) => !/401|Unauthorized/.test(e)), [], 'no script errors (CSP blocks nothing the page needs)');
});
