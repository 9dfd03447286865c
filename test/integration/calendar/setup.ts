/**
 * Shared plumbing of the calendar integration tests: a real Radicale (the
 * shared lab's when MAILBRIDGE_LAB names one, else a private one started for
 * this file, since only Radicale is needed and the full lab costs the other
 * suites CPU), per-test calendar users, iCalendar builders, a broker built
 * from a config slice, and a counting HTTP proxy in front of Radicale so a
 * test can see how many requests reached it.
 */
import { after, before } from 'node:test';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Secret } from '../../../src/core/secret.js';
import { silentLogger, type Logger } from '../../../src/observe/index.js';
import { FreeBusyBroker, buildResolver, buildSources, type CalendarConfigSlice } from '../../../src/calendar/index.js';
import type { SystemConfig } from '../../../src/config/index.js';
import { addCalendarUser, labDir, putEvent, startRadicale, stopPid, useLab, type RadicaleInfo } from '../../harness/index.js';

export const DOMAIN = 'example.com';
const DAY = 86_400_000;

/** Things to stop after the suite (servers, brokers, proxies), in reverse order. */
const cleanups: (() => unknown)[] = [];

/**
 * Call in a describe body: starts (or attaches to) Radicale before the suite
 * and stops everything the suite started after it. node:test's after() must
 * be registered here, not from inside a hook, where it would run at once.
 */
export function useCalendarLab(): () => RadicaleInfo {
  let info: RadicaleInfo | undefined;
  before(async () => {
    info = await radicale();
  });
  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return () => info!;
}

/** The shared lab's Radicale, or a private one (stopped with the suite). */
export async function radicale(): Promise<RadicaleInfo> {
  const shared = process.env.MAILBRIDGE_LAB ? (await useLab()).radicale : undefined;
  return shared ?? privateRadicale();
}

/** A Radicale of the suite's own (e.g. the second system's CalDAV server). */
export async function privateRadicale(): Promise<RadicaleInfo> {
  const dir = labDir(mkdtempSync(join(tmpdir(), 'mb-cal-radicale-')));
  const { info, server } = await startRadicale(dir);
  cleanups.push(async () => {
    await stopPid(server.pid);
    rmSync(dir, { recursive: true, force: true });
  });
  return info;
}

export function uniqueLocal(tag: string): string {
  return `fb-${tag}-${randomBytes(4).toString('hex')}`;
}

/** A person with an empty calendar `/<local>/calendar/` on `info`. */
export async function calendarPerson(info: RadicaleInfo, tag: string): Promise<{ address: string; local: string; calendarUrl: string }> {
  const local = uniqueLocal(tag);
  const u = await addCalendarUser(info, local);
  return { address: `${local}@${DOMAIN}`, local, calendarUrl: u.calendarUrl };
}

/** A VCALENDAR around VEVENT bodies (each a list of property lines) plus extra components. */
export function vcalendar(events: string[][], extra: string[] = []): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//mailbridge//calendar test//EN', ...extra,
    ...events.flatMap((e) => ['BEGIN:VEVENT', 'DTSTAMP:20300101T000000Z', ...e, 'END:VEVENT']), 'END:VCALENDAR', ''].join('\r\n');
}

export async function put(info: RadicaleInfo, calendarUrl: string, uid: string, ics: string): Promise<void> {
  await putEvent(info, calendarUrl, uid, ics);
}

export function caldavSystem(name: string, info: RadicaleInfo, extra: Partial<SystemConfig> = {}, url = info.url): SystemConfig {
  return { name, caldav: { url, user: info.adminUser, password: new Secret(info.adminPassword), home: '{local}/' }, ...extra };
}

export interface BrokerSetup {
  systems: Record<string, SystemConfig>;
  /** Per system, users CSV text. */
  usersCsv?: Record<string, string>;
  timeout?: number;
  cacheTtl?: number;
  now?: () => number;
  log?: Logger;
}

export function calendarConfig(s: BrokerSetup): CalendarConfigSlice {
  return {
    systems: s.systems,
    domains: [DOMAIN],
    calendar: { cacheTtl: s.cacheTtl ?? 0, timeout: s.timeout ?? 5000, windowBack: DAY, windowForward: 60 * DAY, maxWindow: 62 * DAY, maxInstances: 3500 },
  };
}

export function makeBroker(s: BrokerSetup): FreeBusyBroker {
  const config = calendarConfig(s);
  const broker = new FreeBusyBroker({
    resolver: buildResolver(config, s.usersCsv ?? {}),
    sources: buildSources(config, s.now),
    timeout: config.calendar.timeout, cacheTtl: config.calendar.cacheTtl,
    windowBack: DAY, windowForward: 60 * DAY, maxWindow: 62 * DAY,
    log: s.log ?? silentLogger(), ...(s.now ? { now: s.now } : {}),
  });
  cleanups.push(() => broker.close());
  return broker;
}

/** A forwarding proxy that counts the requests it passes to `target`. */
export async function countingProxy(target: string): Promise<{ url: string; count: () => number; methods: string[]; close: () => Promise<void> }> {
  const t = new URL(target);
  const methods: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    methods.push(req.method ?? '?');
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  cleanups.push(close);
  return { url: `http://127.0.0.1:${port}/`, count: () => methods.length, methods, close };
}

/** Busy periods as compact strings for assertions: "2030-03-04T09:00Z/2030-03-04T10:00Z BUSY". */
export function show(periods: { start: Date; end: Date; type: string }[]): string[] {
  const t = (d: Date) => d.toISOString().replace(':00.000Z', 'Z');
  return periods.map((p) => `${t(p.start)}/${t(p.end)} ${p.type}`);
}
