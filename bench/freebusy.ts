/**
 * bench/freebusy: 200 people with 50 events each (a quarter recurring) in a
 * real Radicale; 1,000 free/busy lookups over HTTP (GET /freebusy/{address},
 * JSON) and, in the same run, the direct CalDAV calendar-query REPORT to
 * Radicale for the same person and window. Prints p50/p99 latency uncached
 * (answer cache off; each person's calendar list is discovered once and kept)
 * and cached, and requests/s. A benchmark, not a test: it never fails on a time.
 *
 *   node --import tsx bench/freebusy.ts [people=200] [lookups=1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../src/core/secret.js';
import { createMetrics, silentLogger } from '../src/observe/index.js';
import { createWebServer } from '../src/web/index.js';
import { buildBroker, type FreeBusyBroker } from '../src/calendar/index.js';
import { addCalendarUser, adminCredentials, basicAuth, icalUtc, labDir, startRadicale, stopPid, type RadicaleInfo } from '../test/harness/index.js';

const PEOPLE = Number(process.argv[2] ?? 200);
const LOOKUPS = Number(process.argv[3] ?? 1000);
const EVENTS = 50;
const DAY = 86_400_000;
const BASE = Date.parse('2030-03-01T00:00:00Z');
const WINDOW = { start: new Date(BASE), end: new Date(BASE + 30 * DAY) };

function calendarOf(p: number): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//mailbridge//bench//EN'];
  for (let e = 0; e < EVENTS; e++) {
    const start = new Date(BASE + ((p * 7 + e * 13) % 60) * DAY + (8 + (e % 9)) * 3_600_000);
    lines.push('BEGIN:VEVENT', `UID:p${p}-e${e}@bench`, 'DTSTAMP:20300101T000000Z', `DTSTART:${icalUtc(start)}`,
      `DTEND:${icalUtc(new Date(start.getTime() + 3_600_000))}`, `SUMMARY:event ${e}`);
    if (e % 4 === 0) lines.push(e % 8 === 0 ? 'RRULE:FREQ=WEEKLY;COUNT=10' : 'RRULE:FREQ=DAILY;INTERVAL=2;COUNT=15');
    lines.push('END:VEVENT');
  }
  lines.push('END:VCALENDAR', '');
  return lines.join('\r\n');
}

async function seed(info: RadicaleInfo): Promise<string[]> {
  const locals: string[] = [];
  for (let p = 0; p < PEOPLE; p += 10) {
    await Promise.all(Array.from({ length: Math.min(10, PEOPLE - p) }, async (_, k) => {
      const local = `bench${p + k}`;
      const u = await addCalendarUser(info, local);
      // A PUT of a whole VCALENDAR on the collection replaces its content, one item per UID.
      const res = await fetch(u.calendarUrl, { method: 'PUT', body: calendarOf(p + k), headers: { authorization: basicAuth(adminCredentials(info)), 'content-type': 'text/calendar' } });
      if (res.status >= 300) throw new Error(`PUT ${u.calendarUrl}: ${res.status}`);
      locals[p + k] = local;
    }));
  }
  return locals;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function timed(n: number, fn: (i: number) => Promise<void>, concurrency = 1): Promise<{ lat: number[]; rps: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await fn(i);
      lat.push(performance.now() - s);
    }
  }));
  return { lat, rps: n / ((performance.now() - t0) / 1000) };
}

function line(name: string, r: { lat: number[]; rps: number }): string {
  return `${name.padEnd(34)} p50 ${pct(r.lat, 50).toFixed(2).padStart(7)} ms   p99 ${pct(r.lat, 99).toFixed(2).padStart(7)} ms   ${r.rps.toFixed(0).padStart(6)} req/s`;
}

async function serve(info: RadicaleInfo, cacheTtl: number): Promise<{ url: string; close: () => Promise<void>; broker: FreeBusyBroker }> {
  const config = {
    domains: ['example.com'],
    systems: { legacy: { name: 'legacy', caldav: { url: info.url, user: info.adminUser, password: new Secret(info.adminPassword), home: '{local}/' } } },
    calendar: { cacheTtl, timeout: 5000, windowBack: DAY, windowForward: 60 * DAY, maxWindow: 62 * DAY, maxInstances: 3500 },
  };
  const users = Array.from({ length: PEOPLE }, (_, p) => `bench${p}@example.com`).join('\n');
  const broker = buildBroker(config, { usersCsv: { legacy: users }, log: silentLogger() });
  const app = createWebServer({ log: silentLogger(), metrics: createMetrics({ defaults: false }), metricsPublic: false, notReady: () => [], freebusy: { broker } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, broker, close: async () => { await app.close(); broker.close(); } };
}

async function main(): Promise<void> {
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-bench-fb-')));
  const { info, server } = await startRadicale(dir);
  try {
    const t0 = performance.now();
    const locals = await seed(info);
    console.log(`seeded ${PEOPLE} people x ${EVENTS} events (${Math.ceil(EVENTS / 4)} recurring each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const q = `?start=${WINDOW.start.toISOString()}&end=${WINDOW.end.toISOString()}`;
    const who = (i: number) => locals[(i * 37) % PEOPLE]!;
    const auth = basicAuth(adminCredentials(info));
    const body = `<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${icalUtc(WINDOW.start)}" end="${icalUtc(WINDOW.end)}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
    const direct = (i: number) => fetch(new URL(`${who(i)}/calendar/`, info.url), { method: 'REPORT', body, headers: { authorization: auth, depth: '1', 'content-type': 'application/xml' } })
      .then(async (r) => { if (r.status !== 207) throw new Error(`direct ${r.status}`); await r.text(); });
    const viaUs = (base: string) => (i: number) => fetch(`${base}/freebusy/${who(i)}@example.com${q}`, { headers: { accept: 'application/json' } })
      .then(async (r) => { const j = await r.json() as { status: string }; if (j.status !== 'ok') throw new Error(`mailbridge ${j.status}`); });

    const uncached = await serve(info, 0);
    const cached = await serve(info, 300_000);
    // Warm-up: connections, JIT, and each person's calendar list (discovery is kept for 5 minutes).
    await timed(PEOPLE, viaUs(uncached.url), 4);
    await timed(PEOPLE, direct, 4);
    const results: [string, { lat: number[]; rps: number }][] = [];
    // Interleaved so that Radicale's state and the machine's load are alike for both.
    results.push(['direct calendar-query (Radicale)', await timed(LOOKUPS, direct)]);
    results.push(['mailbridge uncached', await timed(LOOKUPS, viaUs(uncached.url))]);
    results.push(['direct calendar-query, 8 parallel', await timed(LOOKUPS, direct, 8)]);
    results.push(['mailbridge uncached, 8 parallel', await timed(LOOKUPS, viaUs(uncached.url), 8)]);
    await timed(PEOPLE, (i) => viaUs(cached.url)(i * 1)); // fill the cache
    results.push(['mailbridge cached', await timed(LOOKUPS, viaUs(cached.url))]);
    results.push(['mailbridge cached, 8 parallel', await timed(LOOKUPS, viaUs(cached.url), 8)]);
    // The same cached lookups without HTTP: what the broker itself costs.
    results.push(['broker.lookup cached (no HTTP)', await timed(LOOKUPS, async (i) => { await cached.broker.lookup([`${who(i)}@example.com`], WINDOW); })]);
    console.log(`${LOOKUPS} lookups each, window ${WINDOW.start.toISOString().slice(0, 10)}..${WINDOW.end.toISOString().slice(0, 10)}, ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    for (const [n, r] of results) console.log(line(n, r));
    const p50 = (n: string) => pct(results.find(([k]) => k === n)![1].lat, 50);
    console.log(`ratio uncached p50 / direct p50: ${(p50('mailbridge uncached') / p50('direct calendar-query (Radicale)')).toFixed(2)} (aim <= 1.2)`);
    console.log(`cached p99: ${pct(results.find(([k]) => k === 'mailbridge cached')![1].lat, 99).toFixed(2)} ms (aim < 5 ms)`);
    await uncached.close();
    await cached.close();
  } finally {
    await stopPid(server.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
