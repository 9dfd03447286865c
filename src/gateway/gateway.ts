/**
 * The gateway as one unit: spool, listeners, delivery engine, control
 * requests, pickup folder and tracking, built from the config slices the
 * composition root hands over.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewayConfig, SystemConfig } from '../config/index.js';
import { logEvent } from '../observe/index.js';
import { Spool, type QuarantinedFile } from '../spool/index.js';
import { DeliveryEngine } from './delivery.js';
import type { HoldGate } from './holds.js';
import { GatewayListener } from './listener.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { scanPickup } from './pickup.js';
import { queueByDestination, type DestinationQueue } from './queue-stats.js';
import { applyQueueCommand, isQueueCommand } from './queue-ops.js';
import type { RecipientResolver } from './resolver.js';
import { Router } from './router.js';
import type { Tracker, TrackInput } from './tracking.js';
import type { Destination } from './transport.js';

/** Connections per destination when a hand-built config (tests) leaves it out; the config's default (schema) is the same. */
export const DEFAULT_CONCURRENCY = 10;

export interface GatewayOptions {
  config: GatewayConfig;
  domains: readonly string[];
  systems: Readonly<Record<string, SystemConfig>>;
  resolver: RecipientResolver;
  log: Logger;
  registry: Registry;
  tracker?: Tracker;
  tls?: { key: Buffer; cert: Buffer };
  authenticate?: (user: string, password: string) => Promise<boolean>;
  /** How long stop() waits for open SMTP sessions (ms). */
  closeTimeoutMs?: number;
  /** Delivery scan interval (ms); tests shorten it. */
  tickMs?: number;
  /** Cutover holds (issue 8), read from the store on every delivery scan. */
  holds?: HoldGate;
}

export function gatewayHostname(config: GatewayConfig): string {
  return config.hostname ?? osHostname();
}

export function destinationsFor(config: GatewayConfig, systems: Readonly<Record<string, SystemConfig>>): (key: string) => Destination | undefined {
  return (key) => {
    if (key === 'external') {
      const e = config.external;
      return e ? { key, host: e.host, port: e.port, lmtp: false, tls: e.tls, insecure: false, concurrency: e.concurrency ?? DEFAULT_CONCURRENCY } : undefined;
    }
    const sys = systems[key.replace(/^system:/, '')];
    const s = sys?.smtp;
    if (!s) return undefined;
    return {
      key, host: s.host, port: s.port, lmtp: s.protocol === 'lmtp', tls: s.tls, insecure: sys.tlsInsecure === true,
      ...(s.maxMessageSize !== undefined ? { maxMessageSize: s.maxMessageSize } : {}), concurrency: s.concurrency ?? DEFAULT_CONCURRENCY,
    };
  };
}

/** The HMAC key of our hop headers, made once per spool. */
async function hopKey(spoolDir: string): Promise<Buffer> {
  const file = join(spoolDir, 'hop.key');
  if (existsSync(file)) return readFile(file);
  const key = randomBytes(32);
  const fh = await open(file, 'wx', 0o600);
  try {
    await fh.writeFile(key);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return key;
}

export const PID_FILE = 'gateway.pid';

/** A gateway whose pid file in this spool names a live process owns the spool. */
export function gatewayRunning(spoolDir: string): boolean {
  const f = join(spoolDir, PID_FILE);
  if (!existsSync(f)) return false;
  const pid = Number(readFileSync(f, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class Gateway {
  readonly ports: number[] = [];
  readonly #listeners: GatewayListener[] = [];
  readonly #timers: NodeJS.Timeout[] = [];

  private constructor(
    readonly spool: Spool,
    readonly engine: DeliveryEngine,
    readonly router: Router,
    readonly metrics: GatewayMetrics,
    readonly quarantined: QuarantinedFile[],
    private readonly opts: GatewayOptions,
  ) {}

  static async start(opts: GatewayOptions): Promise<Gateway> {
    const { config, log } = opts;
    const { spool, quarantined } = await Spool.open(config.spool);
    for (const q of quarantined) logEvent(log, 'gateway.spool.quarantined', { file: q.file, reason: q.reason, folder: spool.quarantineDir });
    const key = await hopKey(config.spool);
    const metrics = createGatewayMetrics(opts.registry, { byDestination: () => queueByDestination(spool.list(), Date.now()) });
    const router = new Router({ domains: opts.domains, routing: config.routing, resolver: opts.resolver });
    const hostname = gatewayHostname(config);
    const track = (e: TrackInput): void => opts.tracker?.track(e);
    const engine: DeliveryEngine = new DeliveryEngine(
      { hostname, retry: config.retry, destinations: destinationsFor(config, opts.systems), ...(opts.tickMs ? { tickMs: opts.tickMs } : {}) },
      { spool, router, log, metrics, hopKey: key, track, ...(opts.holds ? { holds: opts.holds } : {}), beforeTick: (): Promise<void> => gw.#applyControlThrottled() },
    );
    const gw: Gateway = new Gateway(spool, engine, router, metrics, quarantined, opts);
    for (const l of config.listen) {
      const listener = new GatewayListener(
        {
          hostname, maxMessageSize: config.maxMessageSize, hopLimit: config.hopLimit, relayNetworks: config.relayNetworks, greetPauseMs: config.greetPause,
          ...(opts.tls ? { tls: opts.tls } : {}), ...(opts.authenticate && config.auth ? { authenticate: opts.authenticate } : {}),
          ...(opts.domains[0] ? { postmasterDomain: opts.domains[0] } : {}),
          ...(opts.closeTimeoutMs !== undefined ? { closeTimeoutMs: opts.closeTimeoutMs } : {}),
        },
        {
          router, spool, log, metrics, hopKey: key,
          onQueued: (m) => {
            logEvent(log, 'gateway.message.queued', { queueId: m.id, size: m.size, recipients: m.envelope.recipients.length, ip: m.envelope.source.ip });
            for (const r of m.envelope.recipients) {
              track({ queueId: m.id, messageId: m.envelope.messageId, sender: m.envelope.from, recipient: r.address, event: 'received', detail: `from ${m.envelope.source.ip ?? '?'} size ${m.size}` });
            }
            engine.wake(m.id);
          },
        },
      );
      const { port } = await listener.listen(l.port, l.host);
      gw.#listeners.push(listener);
      gw.ports.push(port);
    }
    await writeFile(join(config.spool, PID_FILE), `${process.pid}\n`);
    engine.start();
    if (config.pickup) gw.#every(1000, () => gw.scanPickupOnce());
    // Moves long-queued messages out of old segments, seals an old current segment (spool.ts).
    gw.#every(5000, () => spool.maintain().then(() => undefined, (err: unknown) => logEvent(log, 'gateway.spool.maintenance', { err })));
    if (opts.tracker) gw.#every(3_600_000, async () => { await opts.tracker!.prune(config.trackingRetention); });
    logEvent(log, 'gateway.started', { listen: config.listen.map((l, i) => `${l.host}:${gw.ports[i]}`), queued: spool.size, quarantined: quarantined.length });
    return gw;
  }

  #every(ms: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      fn().catch((err: unknown) => logEvent(this.opts.log, 'service.crashed', { err, job: 'gateway-timer' })).finally(() => { busy = false; });
    }, ms);
    t.unref();
    this.#timers.push(t);
  }

  /** Queue depth and oldest age per destination, now (the console's gateway card, /metrics). */
  queueByDestination(now = Date.now()): DestinationQueue[] {
    return queueByDestination(this.spool.list(), now);
  }

  #controlAt = -Infinity;

  /** Before a delivery scan: the control folder is read at most every 200 ms (a scan runs per queued message under load). */
  #applyControlThrottled(): Promise<void> {
    const now = Date.now();
    if (now - this.#controlAt < 200) return Promise.resolve();
    this.#controlAt = now;
    return this.applyControl();
  }

  /** Applies pending `mailbridge queue` requests (called before each delivery scan). */
  async applyControl(): Promise<void> {
    for (const req of await this.spool.takeControl()) {
      if (!isQueueCommand(req)) continue;
      try {
        const r = await applyQueueCommand(this.spool, req, (id, event) => this.#trackOp(id, event));
        logEvent(this.opts.log, 'gateway.queue.changed', { op: r.op, ids: r.ids });
      } catch (err) {
        logEvent(this.opts.log, 'gateway.queue.changed', { op: req.op, err });
      }
    }
  }

  #trackOp(id: string, event: string): void {
    const m = this.spool.get(id);
    this.opts.tracker?.track({ queueId: id, messageId: m?.envelope.messageId, sender: m?.envelope.from ?? '', event });
  }

  async scanPickupOnce(): Promise<number> {
    const dir = this.opts.config.pickup;
    if (!dir) return 0;
    return scanPickup(dir, async (p, file) => {
      const m = await this.spool.enqueue(p.envelope, p.body);
      logEvent(this.opts.log, 'gateway.pickup.queued', { queueId: m.id, file });
      for (const r of m.envelope.recipients) this.opts.tracker?.track({ queueId: m.id, messageId: m.envelope.messageId, sender: m.envelope.from, recipient: r.address, event: 'received', detail: `pickup ${file}` });
      this.engine.wake(m.id);
    }, (file, reason) => logEvent(this.opts.log, 'gateway.pickup.failed', { file, reason }));
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    await Promise.all(this.#listeners.map((l) => l.close()));
    await this.engine.stop();
    await this.opts.tracker?.flush();
    await unlink(join(this.opts.config.spool, PID_FILE)).catch(() => undefined);
    logEvent(this.opts.log, 'gateway.stopped', { queued: this.spool.size });
  }
}
