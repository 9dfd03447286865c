/**
 * The check engine: one probe per configured endpoint, all at once, each with
 * the same deadline, results in a stable order (system order of the config,
 * then smtp/lmtp, imap, ldap, users, ldif, caldav, freebusy).
 */
import { ExitCode } from '../core/index.js';
import type { CheckErrorCode } from './errors.js';
import { checkCaldav, checkFreebusy, displayUrl } from './http.js';
import { checkImap, type ProbeUser } from './imap.js';
import { checkLdap, firstMail } from './ldap.js';
import { runProbe, type Probe } from './probe.js';
import { checkSmtp } from './smtp.js';
import type { CheckInput, CheckOptions, CheckReport, CheckTarget, EndpointKind, EndpointResult } from './types.js';
import { checkLdif, checkUsers, readUsersCsv } from './users.js';

interface Planned {
  system: string;
  endpoint: EndpointKind;
  target: string;
  run: (p: Probe) => Promise<string>;
}

/** Every endpoint a system configures, with the probe that checks it. */
export function planChecks(
  name: string, t: CheckTarget, timeoutMs: number, probe: { user?: string; madeUp?: boolean } = {},
): Planned[] {
  const insecure = t.tlsInsecure === true;
  const out: Planned[] = [];
  const add = (endpoint: EndpointKind, target: string, run: Planned['run']): void => { out.push({ system: name, endpoint, target, run }); };
  const smtp = t.smtp;
  if (smtp) add(smtp.protocol, hostPort(smtp.host, smtp.port), (p) => checkSmtp(p, smtp, insecure));
  const imap = t.imap;
  if (imap) {
    add('imap', hostPort(imap.host, imap.port), async (p) =>
      checkImap(p, imap, insecure, imap.admin ? await findProbeUser(p, t, probe, timeoutMs) : { source: 'none', madeUp: false }));
  }
  const ldap = t.ldap;
  if (ldap) add('ldap', displayUrl(ldap.url), (p) => checkLdap(p, ldap, insecure, timeoutMs));
  const users = t.users;
  if (users) add('users', users, (p) => checkUsers(p, users));
  const ldif = t.ldif;
  if (ldif) add('ldif', ldif, (p) => checkLdif(p, ldif));
  const caldav = t.caldav;
  if (caldav) add('caldav', displayUrl(caldav.url), (p) => checkCaldav(p, caldav));
  const fb = t.freebusyUrl;
  if (fb) add('freebusy', displayUrl(fb), (p) => checkFreebusy(p, fb));
  return out;
}

export async function runChecks(input: CheckInput, opts: CheckOptions = {}): Promise<CheckReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const only = opts.only ? new Set(opts.only) : undefined;
  const planned = Object.entries(input.systems)
    .filter(([name]) => !only || only.has(name))
    .flatMap(([name, t]) => planChecks(name, t, input.timeoutMs, { user: opts.probeUsers?.[name], madeUp: opts.madeUpProbe !== false }));
  const results = await Promise.all(planned.map(async (c): Promise<EndpointResult> => {
    const o = await runProbe(input.timeoutMs, c.run);
    return {
      system: c.system, endpoint: c.endpoint, target: c.target, ok: o.ok, latencyMs: o.latencyMs,
      summary: o.summary, ...(o.error ? { error: o.error } : {}), details: o.details,
    };
  }));
  return {
    ok: results.every((r) => r.ok),
    results,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
  };
}

/**
 * The target of the IMAP admin login (see imap.ts): the one given, else the
 * first address of the users CSV, else the first `mail` from LDAP (within a
 * third of the deadline, at most 3s), else none. A broken CSV or a silent LDAP
 * is the business of their own lines, not of the IMAP line.
 */
async function findProbeUser(
  p: Probe, t: CheckTarget, probe: { user?: string; madeUp?: boolean }, timeoutMs: number,
): Promise<ProbeUser> {
  if (probe.user) return { address: probe.user, source: 'option' };
  if (t.users) {
    p.step(`a probe user from ${t.users}`);
    const first = await readUsersCsv(t.users).then((c) => c.firstAddress, () => undefined);
    if (first) return { address: first, source: 'users' };
  }
  if (t.ldap) {
    p.step('a probe user from LDAP');
    const mail = await firstMail(t.ldap, t.tlsInsecure === true, Math.min(3000, Math.floor(timeoutMs / 3)));
    if (mail) return { address: mail, source: 'ldap' };
  }
  return { source: 'none', madeUp: probe.madeUp !== false };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Failures that mean "could not be reached" (exit 3); any other failure is a problem found (exit 1). */
const UNREACHABLE: ReadonlySet<CheckErrorCode> = new Set(['CHECK_REFUSED', 'CHECK_TIMEOUT', 'CHECK_DNS']);

/** The exit code of `mailbridge check` (DESIGN.md): 0 all ok, 3 when an endpoint could not be reached, else 1. */
export function checkExitCode(r: CheckReport): ExitCode {
  if (r.ok) return ExitCode.ok;
  return r.results.some((x) => x.error && UNREACHABLE.has(x.error.code)) ? ExitCode.unreachable : ExitCode.problemFound;
}
