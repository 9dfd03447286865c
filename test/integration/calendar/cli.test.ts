/**
 * `mailbridge freebusy` as a user runs it: the real CLI in a child process,
 * a config file, a users CSV and the real Radicale.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, freePort, type RadicaleInfo } from '../../harness/index.js';
import { calendarPerson, put, useCalendarLab, vcalendar } from './setup.js';

const run = (args: string[]) => cli(args, { env: { MAILBRIDGE_LOG_LEVEL: 'error' } });

describe('mailbridge freebusy', () => {
  const lab = useCalendarLab();
  let info: RadicaleInfo;
  let dir: string;
  let config: string;
  let alice: string;

  before(async () => {
    info = lab();
    const p = await calendarPerson(info, 'cli');
    alice = p.address;
    await put(info, p.calendarUrl, 'k1', vcalendar([['UID:k1', 'DTSTART:20300304T090000Z', 'DTEND:20300304T100000Z', 'SUMMARY:Interview']]));
    dir = mkdtempSync(join(tmpdir(), 'mb-fb-cli-'));
    writeFileSync(join(dir, 'legacy.csv'), `address,name,aliases\n${alice},Alice,ally@example.com\n`);
    writeFileSync(join(dir, 'cloud.csv'), 'down@example.com\n');
    config = join(dir, 'mailbridge.yaml');
    writeFileSync(config, `organization: Test
domains: [example.com]
store: { sqlite: ./mb.db }
systems:
  legacy:
    users: ./legacy.csv
    caldav: { url: "${info.url}", user: ${info.adminUser}, password: "${info.adminPassword}", home: "{local}/" }
  cloud:
    users: ./cloud.csv
    caldav: { url: "http://127.0.0.1:${await freePort()}/", home: "{local}/" }
web:
  listen: { host: 127.0.0.1, port: 8080 }
`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const win = ['--start', '2030-03-04T00:00:00Z', '--end', '2030-03-05T00:00:00Z'];

  it('prints the busy periods (alias lookup), as text, --json and --ics', async () => {
    const text = await run(['--config', config, 'freebusy', 'ally@example.com', ...win]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /2030-03-04T09:00:00\.000Z \.\. 2030-03-04T10:00:00\.000Z {2}BUSY/);

    const json = await run(['--config', config, 'freebusy', alice, ...win, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.status, 'ok');
    assert.deepEqual(doc.busy, [{ start: '2030-03-04T09:00:00.000Z', end: '2030-03-04T10:00:00.000Z', type: 'BUSY' }]);

    const ics = await run(['--config', config, 'freebusy', alice, ...win, '--ics']);
    assert.equal(ics.code, 0, ics.stderr);
    assert.match(ics.stdout, /FREEBUSY;FBTYPE=BUSY:20300304T090000Z\/20300304T100000Z/);
    assert.doesNotMatch(ics.stdout + text.stdout + json.stdout, /Interview/);
  });

  it('exits 1 for an unknown address, 2 for a bad window, 3 for a system that is down', async () => {
    const unknown = await run(['--config', config, 'freebusy', 'nobody@example.com', ...win, '--json']);
    assert.equal(unknown.code, 1);
    assert.equal(JSON.parse(unknown.stdout).status, 'unknown');
    const bad = await run(['--config', config, 'freebusy', alice, '--start', '2030-03-05', '--end', '2030-03-04', '--json']);
    assert.equal(bad.code, 2);
    assert.equal(JSON.parse(bad.stdout).error.code, 'CALENDAR_WINDOW_INVALID');
    const down = await run(['--config', config, 'freebusy', 'down@example.com', ...win]);
    assert.equal(down.code, 3);
    assert.match(down.stdout, /unreachable/);
  });
});
