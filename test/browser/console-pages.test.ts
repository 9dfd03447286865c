/**
 * The console's Directory, Migration, Free/busy and Charts pages as an
 * administrator uses them: a private LDAP tree synced with `mailbridge
 * directory sync`, a mailbox copied with `mailbridge migrate run` between the
 * lab's Dovecots, an event stored in Radicale; then `mailbridge serve` (the
 * binary) and Chromium through playwright-core: log in, search the directory
 * and open a record, open the user's migration detail, look up free/busy and
 * see the busy block, open the charts. Screenshots go to test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext } from 'playwright-core';
import { hashPassword } from '../../src/core/index.js';
import { shotsDir as shots, startConsole, type ConsoleUnderTest } from '../harness/browser.js';
import { freePort, useLab } from '../harness/index.js';
import { newMigrationUser, type MigrationPair } from '../harness/mail.js';
import { makeTree, type Tree } from '../integration/directory/helpers.js';
import { withSession, msg } from '../integration/migration/setup.js';
import { calendarPerson, put, vcalendar } from '../integration/calendar/setup.js';

const bin = new URL('../../bin/mailbridge.js', import.meta.url).pathname;
const PASSWORD = 'console pages password';

const lab = await useLab(undefined, { only: ['dovecot', 'ldap', 'radicale'] });

let ui: ConsoleUnderTest | undefined;
let context: BrowserContext | undefined;
let tree: Tree | undefined;
let base = '';
let alice = '';
let mig: MigrationPair;
let calendarAddress = '';
const day = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

function cli(config: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [bin, '--config', config, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

before(async () => {
  // Directory: a private tree, so other suites' people never show up here.
  tree = await makeTree(lab);
  alice = tree.addr('alice');
  await tree.add('legacy', { uid: 'alice', cn: 'Alice Archer', displayName: 'Alice Archer', mail: alice, aliases: [tree.addr('sales')] });
  // Migration: a mailbox on both Dovecots with two folders.
  mig = await newMigrationUser(lab, 'browser');
  await withSession(lab.dovecot.legacy, mig.address, async (c) => {
    for (let i = 0; i < 3; i++) await c.append('INBOX', msg(`inbox ${i}`), ['\\Seen']);
    await c.mailboxCreate('Projects');
    await c.append('Projects', msg('project'), []);
  });
  // Free/busy: a person whose calendar lives in Radicale, busy 10:00-11:30 UTC tomorrow.
  const radicale = lab.radicale!;
  const person = await calendarPerson(radicale, 'browser');
  calendarAddress = person.address;
  const stamp = day.replace(/-/g, '');
  await put(radicale, person.calendarUrl, 'standup', vcalendar([['UID:standup', `DTSTART:${stamp}T100000Z`, `DTEND:${stamp}T113000Z`, 'SUMMARY:private meeting']]));

  const dir = mkdtempSync(join(tmpdir(), 'mb-console-pages-'));
  const webPort = await freePort();
  const ldap = lab.ldap!;
  const imap = (s: 'legacy' | 'cloud') => `{ host: 127.0.0.1, port: ${lab.dovecot[s].imapPort}, tls: none, admin: { user: ${lab.dovecot[s].masterUser}, password: ${JSON.stringify(lab.dovecot[s].masterPassword)} } }`;
  const caldav = `{ url: "${radicale.url}", user: ${radicale.adminUser}, password: ${radicale.adminPassword}, home: "{local}/" }`;
  writeFileSync(join(dir, 'cloud-users.csv'), `address,name,aliases\n${calendarAddress},Calendar Person,\n`);
  writeFileSync(join(dir, 'migration-users.csv'), `address\n${mig.address}\n`);
  const config = join(dir, 'mailbridge.yaml');
  writeFileSync(config, `organization: Console pages test
domains: [example.com]
store: { sqlite: ./var/mailbridge.db }
systems:
  legacy:
    imap: ${imap('legacy')}
    ldap: { url: "${ldap.url}", bindDn: "${ldap.bindDn}", password: "${ldap.password}", baseDn: "${tree.base.legacy}", contactsDn: "${tree.contacts.legacy}" }
    caldav: ${caldav}
  cloud:
    imap: ${imap('cloud')}
    users: ./cloud-users.csv
    caldav: ${caldav}
migration:
  from: legacy
  to: cloud
  users: ./migration-users.csv
web:
  listen: { host: 127.0.0.1, port: ${webPort} }
  users: [{ name: admin, passwordHash: "${await hashPassword(PASSWORD)}" }]
`);
  const sync = cli(config, ['directory', 'sync']);
  assert.equal(sync.status, 0, sync.out);
  const run = cli(config, ['migrate', 'run']);
  assert.equal(run.status, 0, run.out);

  ui = await startConsole(config, webPort, join(dir, 'serve.log'), { timezoneId: 'UTC' });
  ({ base, context } = ui);
});

after(async () => {
  await ui?.close();
  await tree?.close();
});

test('directory search and record, migration detail, free/busy day grid, charts', async () => {
  assert.ok(context);
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(`${base}/login`);
  await page.fill('#name', 'admin');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(`${base}/`);

  // Directory: search by name, open the record, see where values came from and the routing.
  await page.click('nav a[data-page="directory"]');
  await page.fill('#dir-q', 'archer');
  await page.click('#dir-submit');
  await page.locator('#dir-results[data-q="archer"]').waitFor();
  const row = page.locator(`#dir-results tr[data-address="${alice}"]`);
  assert.equal(await page.locator('#dir-results tbody tr').count(), 1, 'only Alice matches');
  await row.locator('a').click();
  await page.locator(`#dir-record-title[data-address="${alice}"]`).waitFor();
  assert.match(page.url(), /#\/directory\/.+/);
  assert.match(await page.locator('#dir-routing').textContent() ?? '', /→ legacy/);
  assert.equal(await page.locator('#dir-origins tr[data-field="displayName"] td.mono').first().textContent(), 'displayName');
  assert.match(await page.locator('#dir-run-table').textContent() ?? '', /ok/);
  await page.screenshot({ path: join(shots, 'pages-1-directory-record.png'), fullPage: true });

  // Migration: the list with a full progress bar, then the user's detail with its folders.
  await page.click('nav a[data-page="migration"]');
  const mrow = page.locator(`#mig-users tr[data-address="${mig.address}"]`);
  await mrow.waitFor();
  assert.equal(await mrow.getAttribute('data-state'), 'synced');
  assert.equal(await mrow.locator('progress').getAttribute('data-progress'), '1.000');
  await page.locator('#mig-throughput g.chart-bars').first().waitFor();
  assert.ok(Number(await page.locator('#mig-throughput g.chart-bars').first().getAttribute('data-points')) >= 1, 'copies show in the throughput chart');
  await mrow.locator('a').click();
  await page.locator(`#mig-detail-title[data-address="${mig.address}"]`).waitFor();
  assert.equal(await page.locator('#mig-folders tr[data-folder="INBOX"] td').nth(4).textContent(), '3');
  assert.equal(await page.locator('#mig-folders tr[data-folder="Projects"] td').nth(4).textContent(), '1');
  assert.ok(await page.locator('#mig-refusals-empty').isVisible(), 'nothing refused');
  await page.screenshot({ path: join(shots, 'pages-2-migration-detail.png'), fullPage: true });

  // Free/busy: the Radicale event as a busy block on the day grid.
  await page.click('nav a[data-page="freebusy"]');
  await page.fill('#fb-address', calendarAddress);
  await page.fill('#fb-day', day);
  await page.click('#fb-submit');
  const block = page.locator('#fb-grid rect.fb-busy');
  await block.first().waitFor({ timeout: 15_000 });
  assert.equal(await block.count(), 1);
  assert.equal(await block.getAttribute('data-start'), `${day}T10:00:00.000Z`);
  assert.equal(await block.getAttribute('data-end'), `${day}T11:30:00.000Z`);
  assert.match(await page.locator('#fb-list').textContent() ?? '', /10:00.11:30/);
  assert.doesNotMatch(await page.locator('#page-freebusy').textContent() ?? '', /private meeting/);
  await page.screenshot({ path: join(shots, 'pages-3-freebusy.png'), fullPage: true });

  // Charts: the three 24 h charts render (empty until serve's first samples).
  await page.click('nav a[data-page="charts"]');
  await page.locator('#charts-gateway figure.chart-box').nth(2).waitFor();
  assert.equal(await page.locator('#charts-gateway svg.chart').count(), 3);
  // The copies made before serve ran are on the chart: rebuilt from the store at start when they fell in
  // an earlier minute, else sampled at the end of their minute and shown by the page's own redraw (every 60 s).
  const copied = page.locator('#charts-gateway g.chart-line[data-series="messages"]');
  await copied.waitFor({ timeout: 80_000 });
  assert.ok(Number(await copied.getAttribute('data-points')) >= 1, 'the migration pass shows on the chart');
  await page.screenshot({ path: join(shots, 'pages-4-charts.png'), fullPage: true });

  assert.deepEqual(errors, [], 'no script errors and no CSP violations');
});
