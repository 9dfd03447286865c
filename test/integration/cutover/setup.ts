/**
 * What the cutover suites share: a store with the users in the unified
 * directory, a real gateway (in-process, Gateway.start) delivering over LMTP to
 * the lab's Dovecots with the store's cutover holds, a steady stream of mail
 * through it, and reading a mailbox back by Message-ID and SHA-256.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SystemConfig } from '../../../src/config/index.js';
import { engineOps, type CutoverDeps } from '../../../src/cutover/index.js';
import { DirectoryResolver, Gateway, StoreHoldGate, Tracker } from '../../../src/gateway/index.js';
import type { EngineDeps } from '../../../src/migration/index.js';
import { createMetrics, silentLogger } from '../../../src/observe/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { LAB_HOST, type DovecotInfo, type LabInfo } from '../../harness/index.js';
import { baseGatewayConfig, sendRaw, type AfterHost } from '../gateway/helpers.js';
import { engineDeps, withSession } from '../migration/setup.js';

export async function cutoverStore(t: AfterHost): Promise<Store> {
  const store = await openStore({ sqlite: join(mkdtempSync(join(tmpdir(), 'mb-cut-')), 'state.db') });
  t.after(() => store.close());
  return store;
}

function lmtp(info: DovecotInfo): SystemConfig {
  return { name: info.system, smtp: { host: LAB_HOST, port: info.lmtpPort, protocol: 'lmtp', tls: 'none' } };
}

export interface TestGw { gw: Gateway; port: number; tracker: Tracker; stop(): Promise<void> }

/** A gateway routing from the store's directory, holding what the store's cutover holds say. */
export async function startCutoverGateway(t: AfterHost, lab: LabInfo, store: Store, tickMs = 200): Promise<TestGw> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-cut-gw-'));
  const config = baseGatewayConfig(dir, { retry: { schedule: [1000], maxAge: 86_400_000, warnAfter: 3_600_000 } });
  const tracker = new Tracker(store, 'gw-test', silentLogger());
  const gw = await Gateway.start({
    config, domains: [lab.domain], systems: { legacy: lmtp(lab.dovecot.legacy), cloud: lmtp(lab.dovecot.cloud) },
    resolver: new DirectoryResolver(store, [lab.domain]), log: silentLogger(), registry: createMetrics({ defaults: false }).registry,
    tracker, tickMs, closeTimeoutMs: 300, holds: new StoreHoldGate(store, `gw-test:${dir}`, silentLogger()),
  });
  let stopped = false;
  const stop = async (): Promise<void> => { if (!stopped) { stopped = true; await gw.stop(); } };
  t.after(stop);
  return { gw, port: gw.ports[0]!, tracker, stop };
}

export function deps(lab: LabInfo, store: Store, over: Partial<CutoverDeps> = {}, engine: Partial<EngineDeps> = {}): { cut: CutoverDeps; engine: EngineDeps } {
  const e = engineDeps(lab, store, engine);
  return { engine: e, cut: { store, ops: engineOps(e), from: 'legacy', to: 'cloud', log: silentLogger(), settleMs: 200, ackTimeoutMs: 15_000, ...over } };
}

export interface Sent { id: string; to: string[]; at: number; reply: string }

export function message(id: string, to: string[], n: number): string {
  return `From: sender@example.org\r\nTo: ${to.join(', ')}\r\nSubject: stream ${n}\r\nMessage-ID: <${id}>\r\nDate: ${new Date().toUTCString()}\r\n\r\nmessage ${n}\r\n${'x'.repeat(200)}\r\n`;
}

/** Sends one message every `everyMs` to the recipients `pick(n)` chooses, until stop(). */
export function stream(port: number, pick: (n: number) => string[], everyMs = 100): { sent: Sent[]; stop(): Promise<void> } {
  const sent: Sent[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const to = pick(n);
      const id = `s${n}.${Math.random().toString(36).slice(2)}@example.org`;
      const at = Date.now();
      const reply = await sendRaw(port, 'sender@example.org', to, message(id, to, n)).catch((err: unknown) => `error ${String(err)}`);
      sent.push({ id, to, at, reply });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { sent, stop: async () => { running = false; await loop; } };
}

export interface Stored { messageId: string; sha: string }

/** INBOX of a user: Message-ID and SHA-256 of the full bytes of every message. */
export async function inbox(info: DovecotInfo, address: string): Promise<Stored[]> {
  return withSession(info, address, async (c) => {
    const box = await c.mailboxOpen('INBOX', { readOnly: true });
    const out: Stored[] = [];
    if (box.exists === 0) return out;
    for await (const m of c.fetch('1:*', { uid: true, source: true, envelope: true }, { uid: true })) {
      out.push({ messageId: (m.envelope?.messageId ?? '').replace(/^<|>$/g, ''), sha: createHash('sha256').update(m.source!).digest('hex') });
    }
    return out;
  });
}

export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function countBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}
