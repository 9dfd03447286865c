/**
 * The Queue and Tracking pages as an administrator uses them: `mailbridge
 * serve` running for real (the binary, as a child process) on the lab,
 * Chromium driven by playwright-core. The cloud system's LMTP endpoint in the
 * config is a port where nothing listens at first (a backend that is down), so
 * a message sent through the gateway stays queued. From the page: find it,
 * hold it (with the confirmation step), find it again through tracking, bring
 * the backend up (a plain TCP relay to the lab's real cloud Dovecot LMTP),
 * release it from the page, and watch it leave the queue; the message is then
 * in the user's INBOX, and tracking shows received ... delivered.
 * Screenshots go to test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext } from 'playwright-core';
import { hashPassword } from '../../src/core/index.js';
import { shotsDir as shots, startConsole, type ConsoleUnderTest } from '../harness/browser.js';
import { delay, freePort, labDir, newMailUser, useLab, type LabInfo, type LabMailUser } from '../harness/index.js';
import { writeLabConfig } from '../harness/lab-config.js';
import { masterSession } from '../harness/mail.js';
import { sendRaw } from '../integration/gateway/helpers.js';

const PASSWORD = 'console queue test password';

let ui: ConsoleUnderTest | undefined;
let context: BrowserContext | undefined;
let relay: Server | undefined;
let base = '';
let gatewayPort = 0;
let backendPort = 0;
let user: LabMailUser;

/** The backend comes up: a TCP relay from the configured port to the lab's cloud Dovecot LMTP. */
async function startRelay(port: number, target: number): Promise<Server> {
  const server = createServer((c) => {
    const u = connect(target, '127.0.0.1');
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
    c.pipe(u);
    u.pipe(c);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
  return server;
}

const lab = await useLab(undefined, { only: ['dovecot'] });

before(async () => {
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-console-queue-')));
  user = await newMailUser(lab, 'cloud', { local: 'queue' });
  backendPort = await freePort();
  gatewayPort = await freePort();
  const webPort = await freePort();
  // The cloud system's LMTP endpoint is the relay's port: closed until the test opens it.
  const down: LabInfo = { ...lab, dovecot: { ...lab.dovecot, cloud: { ...lab.dovecot.cloud, lmtpPort: backendPort } } };
  const config = writeLabConfig(join(dir, 'mb'), down, {
    webPort, gatewayPort, passwordHash: await hashPassword(PASSWORD), literalSecrets: true,
  }, [{ address: user.address, name: 'Queue Tester', system: 'cloud' }]);
  ui = await startConsole(config, webPort, join(dir, 'serve.log'));
  ({ base, context } = ui);
});

after(async () => {
  await ui?.close();
  await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
});

test('queue: hold and release a stuck message from the page; tracking: search by Message-ID', async () => {
  assert.ok(context);
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  const refused: string[] = [];
  page.on('response', (r) => { if (r.status() >= 400) refused.push(`${r.status()} ${new URL(r.url()).pathname}`); });

  // A message for a user whose system's endpoint is down: accepted (250), then deferred.
  const mid = `console-queue-${Date.now()}@test`;
  // The gateway starts after the web listener: wait for its SMTP greeting.
  let reply = '';
  for (let i = 0; i < 100 && !/^250 /.test(reply); i++) {
    reply = await sendRaw(gatewayPort, 'boss@example.org', [user.address], `From: Boss <boss@example.org>\r\nTo: <${user.address}>\r\nSubject: stuck in the queue\r\nMessage-ID: <${mid}>\r\n\r\nPlease hold me.\r\n`).catch((e: Error) => e.message);
    if (!/^250 /.test(reply)) await delay(100);
  }
  const id = /queued as (\S+)/.exec(reply)?.[1];
  assert.ok(id, `gateway reply: ${reply}`);

  await page.goto(`${base}/login`);
  await page.fill('#name', 'admin');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(`${base}/`);

  // The queue: the message's row turns "deferred" after its first failed attempt (the page polls).
  await page.click('nav a[data-page="queue"]');
  const row = page.locator(`tr.queue-row[data-id="${id}"]`);
  await page.locator(`tr.queue-row[data-id="${id}"][data-state="deferred"]`).waitFor({ timeout: 20_000 });
  assert.match(await row.textContent() ?? '', new RegExp(user.address.replace(/[.]/g, '\\.')));
  // Filters: "held" hides it, "deferred" shows it again.
  await page.selectOption('#queue-state', 'held');
  await page.locator(`tr.queue-row[data-id="${id}"]`).waitFor({ state: 'detached' });
  await page.selectOption('#queue-state', 'deferred');
  await row.waitFor();
  await page.screenshot({ path: join(shots, 'queue-1-list-deferred.png'), fullPage: true });

  // Detail: envelope, headers from the spool file, the recipient's last reply.
  await row.locator('a').first().click();
  await page.waitForURL(new RegExp(`#/queue/${id}$`));
  await page.locator('#queue-detail-id', { hasText: id }).waitFor();
  const headers = await page.locator('#queue-headers').innerText();
  assert.match(headers, /Subject\s+stuck in the queue/);
  assert.match(headers, new RegExp(`Message-ID\\s+<${mid.replace(/[.]/g, '\\.')}>`));
  assert.equal(await page.locator('#queue-recipients tbody tr').getAttribute('data-status'), 'deferred');
  assert.notEqual((await page.locator('#queue-recipients tbody tr td.detail').textContent())?.trim(), '', 'the last reply is shown');

  // Hold, with the confirmation step: the first click only asks.
  await page.click('button[data-op="hold"]');
  await page.locator('.confirm[role="alertdialog"]').waitFor();
  await page.screenshot({ path: join(shots, 'queue-2-confirm-hold.png'), fullPage: true });
  await page.click('#queue-cancel');
  await page.locator('.confirm').waitFor({ state: 'detached' });
  await page.click('button[data-op="hold"]');
  await page.click('#queue-confirm');
  await page.locator('h2 .badge[data-state="held"]').waitFor();
  assert.equal(await page.locator('#queue-note').textContent(), 'hold: done');
  await page.locator('button[data-op="release"]').waitFor();
  await page.screenshot({ path: join(shots, 'queue-3-held.png'), fullPage: true });

  // Tracking while it is held: received, deferred, held, with a link back to the queued message.
  await page.click('nav a[data-page="tracking"]');
  await page.fill('#tracking-messageId', `<${mid}>`);
  await page.click('#tracking-submit');
  await page.locator('tr.tracking-row[data-event="held"]').waitFor({ timeout: 10_000 });
  const link = page.locator('tr.tracking-row[data-event="received"][data-queued="true"] a');
  assert.equal(await link.textContent(), id);
  await link.click();
  await page.waitForURL(new RegExp(`#/queue/${id}$`));
  await page.locator('h2 .badge[data-state="held"]').waitFor();

  // The backend comes up; held, the message stays where it is until released.
  relay = await startRelay(backendPort, lab.dovecot.cloud.lmtpPort);
  await page.click('button[data-op="release"]');
  await page.click('#queue-confirm');
  // Delivered: it leaves the queue, and the page (polling) says so with tracking's last event.
  // (Tracking is written in batches: the page may first show the message gone with "released" last.)
  await page.locator('#queue-gone', { hasText: 'no longer in the queue; its last event was "delivered"' }).waitFor({ timeout: 20_000 });
  await page.screenshot({ path: join(shots, 'queue-4-released-delivered.png'), fullPage: true });

  // In the user's real mailbox, once.
  const imap = await masterSession(lab.dovecot.cloud, user.address);
  try {
    await imap.mailboxOpen('INBOX');
    const found = await imap.search({ header: { 'message-id': mid } });
    assert.equal(Array.isArray(found) ? found.length : 0, 1, 'delivered once to the INBOX');
  } finally {
    await imap.logout();
  }

  // Tracking by Message-ID: the whole story, newest last, no link any more.
  await page.click('nav a[data-page="tracking"]');
  await page.fill('#tracking-messageId', mid);
  await page.click('#tracking-submit');
  await page.locator('tr.tracking-row[data-event="delivered"]').waitFor({ timeout: 10_000 });
  const events = await page.locator('tr.tracking-row').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event')));
  for (const e of ['received', 'deferred', 'held', 'released', 'delivered']) assert.ok(events.includes(e), `${e} in ${events.join(',')}`);
  assert.equal(events.at(-1), 'delivered');
  assert.equal(await page.locator('tr.tracking-row[data-queued="true"]').count(), 0);
  assert.match(await page.locator('tr.tracking-row[data-event="delivered"]').textContent() ?? '', /system:cloud/);
  await page.screenshot({ path: join(shots, 'queue-5-tracking.png'), fullPage: true });

  // A bad time: the page shows the API's reason.
  await page.fill('#tracking-messageId', '');
  await page.locator('#tracking-since').evaluate((input) => { (input as unknown as { type: string }).type = 'text'; });
  await page.fill('#tracking-since', 'yesterday');
  await page.click('#tracking-submit');
  await page.locator('#tracking-status.error', { hasText: 'since: "yesterday" is not a time' }).waitFor();

  // Both actions are in the audit log, by the logged-in user.
  const audit = await context.request.get(`${base}/api/audit?limit=20`).then((r) => r.json() as Promise<{ entries: { action: string; actor: string; target: string }[] }>);
  const mine = audit.entries.filter((a) => a.target === id).map((a) => `${a.actor} ${a.action}`).sort();
  assert.deepEqual(mine, ['admin queue.hold', 'admin queue.release']);
  // The only refusals: the detail of the message once it had left (404), and the bad time (400).
  assert.deepEqual([...new Set(refused)].sort(), [`404 /api/queue/${id}`, '400 /api/tracking'].sort());
  assert.deepEqual(errors.filter((e) => !/Failed to load resource: the server responded with a status of (400|404)/.test(e)), [], 'no script errors (CSP blocks nothing the page needs)');
});
