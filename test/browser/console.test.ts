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
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page } from 'playwright-core';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { hashPassword } from '../../src/core/index.js';
import { shotsDir as shots, startConsole, type ConsoleUnderTest } from '../harness/browser.js';
import { freePort, labDir, newMailUser, startDovecot, stopPid, useLab, type LabInfo } from '../harness/index.js';
import { writeLabConfig } from '../harness/lab-config.js';

const PASSWORD = 'console test password';

let ui: ConsoleUnderTest | undefined;
let context: BrowserContext | undefined;
let base = '';
let cloudPid = 0;
let gatewayPort = 0;
let cloudProbeAddress = '';

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
  gatewayPort = await freePort();
  cloudProbeAddress = cloudProbe.address;
  const config = writeLabConfig(join(dir, 'mb'), mixed, {
    webPort, gatewayPort, passwordHash: await hashPassword(PASSWORD), literalSecrets: true,
    probeMailboxes: { legacy: legacyProbe.address, cloud: cloudProbe.address },
  });
  ui = await startConsole(config, webPort, join(dir, 'serve.log'));
  ({ base, context } = ui);
});

after(async () => {
  await ui?.close();
  if (cloudPid) await stopPid(cloudPid);
});

/** One message through serve's gateway (the probe mailbox is routed to its system). */
async function submit(port: number, to: string): Promise<void> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true });
  await new Promise<void>((resolve, reject) => { conn.once('error', reject); conn.connect(() => resolve()); });
  await new Promise<void>((resolve, reject) => conn.send({ from: 'someone@example.org', to: [to] }, `Subject: queued\r\nMessage-ID: <queued-${Date.now()}@example.org>\r\n\r\nwaits\r\n`, (err) => (err ? reject(err) : resolve())));
  conn.quit();
}

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
  // (The overall light itself is red here: this lab's LDAP has no people, so the directory sync
  // refuses to run, and that problem links to the directory page.)
  for (const system of ['legacy', 'cloud']) {
    await page.locator(`article.card[data-system="${system}"][data-light="green"]`).waitFor({ timeout: 30_000 })
      .catch(async (err: Error) => { throw new Error(`${err.message}\n${await page.locator('main').innerText()}`); });
  }
  const directoryProblem = page.locator('#summary li.problem', { hasText: 'directory sync' });
  assert.equal(await directoryProblem.locator('a').getAttribute('href'), '#/directory');
  assert.equal(await directoryProblem.locator('.light').getAttribute('data-light'), 'red');
  const rows = page.locator('tr.endpoint');
  const lights = await rows.evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-system')} ${tr.getAttribute('data-endpoint')} ${tr.getAttribute('data-light')}`));
  assert.ok(lights.length >= 5, lights.join(', '));
  for (const l of lights) assert.match(l, / green$/);
  assert.equal(await rowLight(page, 'cloud', 'imap'), 'green');
  // The synthetic mail probes (through serve's own gateway, read back over IMAP) are lights of their own.
  await page.locator('tr.endpoint[data-system="cloud"][data-endpoint="probe-mail"][data-light="green"]').waitFor({ timeout: 30_000 });
  assert.equal(await rowLight(page, 'legacy', 'probe-mail'), 'green');
  assert.match(await page.locator('tr.endpoint[data-system="cloud"][data-endpoint="probe-mail"] td.detail').textContent() ?? '', /through the gateway 127\.0\.0\.1:\d+ and read back over IMAP/);
  // The gateway card: the probes went through it; its figures are per destination, queue empty now.
  await page.locator('#sub-gateway[data-light="green"]').waitFor();
  assert.match(await page.locator('#sub-gateway').textContent() ?? '', /queue empty|waiting/);
  assert.equal(await page.locator('#sub-gateway h2 a').getAttribute('href'), '#/queue');
  // /metrics (public in this config) has the probe results and the gateway's figures.
  const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
  assert.match(metrics, /mailbridge_probe_up\{system="cloud",probe="mail"\} 1/);
  assert.match(metrics, /mailbridge_gateway_delivery_latency_seconds_count\{destination="cloud",result="delivered"\} [1-9]/);
  assert.match(metrics, /mailbridge_migration_copied_messages \d+/);
  assert.doesNotMatch(metrics, /@example\.com/, 'no addresses in labels');
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
  // "Check now" runs the probes too: the cloud mail probe is red with its reason, legacy's stays green.
  await page.locator('tr.endpoint[data-system="cloud"][data-endpoint="probe-mail"][data-light="red"]').waitFor({ timeout: 15_000 });
  assert.match(await page.locator('tr.endpoint[data-system="cloud"][data-endpoint="probe-mail"] td.detail').textContent() ?? '', /imap 127\.0\.0\.1:\d+: connection refused/);
  assert.equal(await rowLight(page, 'legacy', 'probe-mail'), 'green');
  assert.equal(await rowLight(page, 'legacy', 'imap'), 'green', await page.locator('#systems').innerText());
  // A message for the cloud system now waits in the gateway's queue: the card shows it per destination.
  await submit(gatewayPort, cloudProbeAddress);
  await page.locator('#queue-figures tr[data-destination="cloud"] td[data-recipients="1"]').waitFor({ timeout: 15_000 });
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'same document: no reload');
  // The worst problem first, in red, linking to its row; the failing system's card first.
  const first = page.locator('#summary li.problem').first();
  assert.match(await first.textContent() ?? '', /cloud (imap|lmtp|probe-mail)/);
  assert.equal(await first.locator('.light').getAttribute('data-light'), 'red');
  assert.equal(await page.locator('article.card').first().getAttribute('data-system'), 'cloud');
  await page.screenshot({ path: join(shots, '3-overview-cloud-red.png'), fullPage: true });
  await first.locator('a').click();
  assert.match(page.url(), /#ep-cloud-(imap|lmtp|probe-mail)$/);

  // Log out: back to the login page, and the API refuses the old cookie.
  await page.click('#logout');
  await page.waitForURL(`${base}/login`);
  const refused = await context.request.get(`${base}/api/overview`);
  assert.equal(refused.status(), 401);
  await page.screenshot({ path: join(shots, '4-logged-out.png') });
  assert.deepEqual(consoleErrors.filter((e) => !/401|Unauthorized/.test(e)), [], 'no script errors (CSP blocks nothing the page needs)');
});
