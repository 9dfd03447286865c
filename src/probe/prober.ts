/**
 * One probe round: per system, in parallel, the mail probe (when the system has
 * a probe mailbox, IMAP and a way in), the free/busy probe (caldav or
 * freebusyUrl) and the LDAP probe (ldap). Each result is recorded in the
 * store's checks table under its probe-* endpoint (so the overview's lights and
 * every node sharing the store see it), observed in /metrics, and logged as an
 * event when it failed or recovered. A probe's failure never stops the others.
 */
import { buildSources, FreeBusyBroker, type CalendarConfigSlice } from '../calendar/index.js';
import type { SystemConfig } from '../config/index.js';
import type { Secret } from '../core/index.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import type { CheckInput } from '../store/index.js';
import { ProbeErrors, ProbeFailure, shortReason } from './errors.js';
import { probeFreeBusy } from './freebusy.js';
import { probeLdap } from './ldap.js';
import { probeMail, type SubmitVia } from './mail.js';
import { probeMetrics, type ProbeMetrics } from './metrics.js';
import { PROBE_ENDPOINTS, type ProbeKind, type ProbePlan, type ProbeResult } from './types.js';

export interface ProberOptions {
  systems: Readonly<Record<string, SystemConfig>>;
  mailboxes: Readonly<Record<string, { address: string; password?: Secret }>>;
  domains: readonly string[];
  calendar: CalendarConfigSlice['calendar'];
  /** Where a system's probe message is submitted; undefined: no mail probe for it. */
  submitVia: (system: string) => SubmitVia | undefined;
  hostname: string;
  /** Per LDAP and free/busy probe. */
  timeoutMs: number;
  /** Per mail probe (login, submission, arrival, deletion). */
  mailTimeoutMs: number;
  checks: { record(c: CheckInput): Promise<unknown> };
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** What a round probes, from the config alone (the overview lists these endpoints even before the first round). */
export function planProbes(o: Pick<ProberOptions, 'systems' | 'mailboxes' | 'submitVia'>): ProbePlan[] {
  return Object.entries(o.systems).map(([system, s]) => {
    const kinds: ProbeKind[] = [];
    if (o.mailboxes[system] && s.imap && o.submitVia(system)) kinds.push('mail');
    if (s.caldav || s.freebusyUrl) kinds.push('freebusy');
    if (s.ldap) kinds.push('ldap');
    return { system, kinds };
  }).filter((p) => p.kinds.length > 0);
}

export class Prober {
  readonly #o: ProberOptions;
  readonly #broker: FreeBusyBroker;
  readonly #metrics: ProbeMetrics | undefined;
  readonly #outstanding = new Map<string, Set<string>>();
  readonly #lastOk = new Map<string, boolean>();

  constructor(o: ProberOptions) {
    this.#o = o;
    this.#metrics = o.metrics ? probeMetrics(o.metrics.registry) : undefined;
    const probeSystem = new Map<string, string>();
    // No cache: a probe must reach the source every round, or a dead server would stay green.
    this.#broker = new FreeBusyBroker({
      resolver: {
        resolve: (address) => {
          const system = probeSystem.get(address) ?? '';
          const at = address.lastIndexOf('@');
          return { kind: 'system', system, person: { address, local: address.slice(0, at), domain: address.slice(at + 1) }, via: 'users' };
        },
      },
      sources: buildSources({ systems: o.systems, domains: o.domains, calendar: o.calendar }, o.now),
      timeout: o.timeoutMs, cacheTtl: 0, staleFor: 0,
      maxWindow: o.calendar.maxWindow, windowBack: o.calendar.windowBack, windowForward: o.calendar.windowForward,
      log: o.log,
    });
    for (const system of Object.keys(o.systems)) probeSystem.set(this.freebusyAddress(system), system);
  }

  plan(): ProbePlan[] {
    return planProbes(this.#o);
  }

  /** The address the free/busy probe asks about: the probe mailbox, else a made-up person on the system. */
  freebusyAddress(system: string): string {
    return this.#o.mailboxes[system]?.address.toLowerCase() ?? `mailbridge-probe.${system.toLowerCase().replace(/[^a-z0-9-]/g, '-')}@${this.#o.domains[0] ?? 'invalid'}`;
  }

  /** One round over every system and kind; results in plan order. */
  async runOnce(): Promise<ProbeResult[]> {
    const jobs = this.plan().flatMap((p) => p.kinds.map((kind) => ({ system: p.system, kind })));
    const results = await Promise.all(jobs.map((j) => this.#one(j.system, j.kind)));
    for (const r of results) await this.#record(r);
    return results;
  }

  async #one(system: string, kind: ProbeKind): Promise<ProbeResult> {
    const t0 = performance.now();
    try {
      const out = await this.#run(system, kind);
      return { system, kind, ok: true, ...out };
    } catch (err) {
      const latencyMs = Math.round(performance.now() - t0);
      if (err instanceof ProbeFailure) return { system, kind, ok: false, detail: err.message, latencyMs, code: err.code };
      return { system, kind, ok: false, detail: `${kind} probe failed: ${shortReason(err)}`, latencyMs, code: ProbeErrors.PROBE_TIMEOUT };
    }
  }

  #run(system: string, kind: ProbeKind): Promise<{ latencyMs: number; detail: string }> {
    const s = this.#o.systems[system]!;
    if (kind === 'ldap') return probeLdap(s.ldap!, s.tlsInsecure === true, this.#o.timeoutMs);
    if (kind === 'freebusy') return probeFreeBusy(this.#broker, system, this.freebusyAddress(system), new Date((this.#o.now ?? Date.now)()));
    const box = this.#o.mailboxes[system]!;
    let outstanding = this.#outstanding.get(system);
    if (!outstanding) this.#outstanding.set(system, outstanding = new Set());
    return probeMail({
      system, address: box.address, imap: s.imap!, ...(box.password ? { password: box.password } : {}), tlsInsecure: s.tlsInsecure === true,
      via: this.#o.submitVia(system)!, timeoutMs: this.#o.mailTimeoutMs, hostname: this.#o.hostname, outstanding,
    });
  }

  async #record(r: ProbeResult): Promise<void> {
    const endpoint = PROBE_ENDPOINTS[r.kind];
    this.#metrics?.up.set({ system: r.system, probe: r.kind }, r.ok ? 1 : 0);
    this.#metrics?.runs.inc({ system: r.system, probe: r.kind, result: r.ok ? 'ok' : 'failed' });
    if (r.ok) this.#metrics?.latency.observe({ system: r.system, probe: r.kind }, r.latencyMs / 1000);
    const key = `${r.system}\u0000${r.kind}`;
    const before = this.#lastOk.get(key);
    this.#lastOk.set(key, r.ok);
    if (!r.ok) logEvent(this.#o.log, 'probe.failed', { system: r.system, probe: r.kind, code: r.code, reason: r.detail, ms: r.latencyMs }, undefined, this.#o.metrics);
    else if (before === false) logEvent(this.#o.log, 'probe.recovered', { system: r.system, probe: r.kind, ms: r.latencyMs }, undefined, this.#o.metrics);
    try {
      await this.#o.checks.record({ system: r.system, endpoint, ok: r.ok, detail: r.detail, latencyMs: r.latencyMs, checkedAt: (this.#o.now ?? Date.now)() });
    } catch (err) {
      logEvent(this.#o.log, 'service.crashed', { err, job: 'probe-record' }, undefined, this.#o.metrics);
    }
  }

  close(): void {
    this.#broker.close();
  }
}
