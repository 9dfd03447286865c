/**
 * The composition root's shared part: the one place that reads argv-derived
 * options, the environment and the config file, and builds the logger, metrics
 * and store that subsystems receive through their constructors.
 */
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger, createMetrics, logEvent, type Logger, type Metrics } from '../observe/index.js';
import { openStore, type Store } from '../store/index.js';

export interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

export interface Context {
  config: Config;
  log: Logger;
  metrics: Metrics;
}

export function configPath(opts: GlobalOptions): string {
  return resolve(opts.config ?? process.env.MAILBRIDGE_CONFIG ?? 'mailbridge.yaml');
}

export function createContext(opts: GlobalOptions, { quiet = false } = {}): Context {
  const log = createLogger({ level: quiet ? 'warn' : (opts.logLevel ?? process.env.MAILBRIDGE_LOG_LEVEL ?? 'info') });
  const metrics = createMetrics();
  const config = loadConfig(configPath(opts), process.env);
  logEvent(log, 'config.loaded', { file: config.file }, undefined, metrics);
  return { config, log, metrics };
}

export async function openStoreFor(ctx: Context): Promise<Store> {
  const store = await openStore(ctx.config.store);
  logEvent(ctx.log, 'store.opened', { dialect: store.dialect, version: await store.migrationVersion() }, undefined, ctx.metrics);
  return store;
}

/** probes.mailboxes as "system -> probe address", for logins that need a real mailbox. */
export function probeUsers(config: Config): Record<string, string> {
  return Object.fromEntries(Object.entries(config.probes.mailboxes ?? {}).map(([system, m]) => [system, m.address]));
}
