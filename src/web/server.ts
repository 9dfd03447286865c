/**
 * The HTTP listener (fastify): /healthz (process up), /readyz (store and
 * listeners ready) and /metrics (Prometheus text; without a console session only
 * when web.metrics.public is set: the contract says no route other than these
 * answers without a session). The console, API and free/busy routes are added
 * here by their subsystems.
 */
import Fastify, { LogController } from 'fastify';
import type { Logger, Metrics } from '../observe/index.js';
import { registerFreeBusyRoutes, type FreeBusyRouteDeps } from './freebusy-routes.js';
import { registerConsole, type ConsoleDeps, type ConsoleHandle } from './console-routes.js';

export interface WebDeps {
  log: Logger;
  metrics: Metrics;
  /** Reasons the process is not ready; empty when it is. */
  notReady: () => string[];
  metricsPublic: boolean;
  /** GET /freebusy/{address}, POST /freebusy (issue 6); absent: no free/busy routes. */
  freebusy?: FreeBusyRouteDeps;
  /** The console's pages and /api (issue 7); absent: neither, and /metrics only when public. */
  console?: ConsoleDeps;
}

export type WebServer = ReturnType<typeof createWebServer>;

export function createWebServer(deps: WebDeps) {
  const app = Fastify({ loggerInstance: deps.log.child({ component: 'web' }), logController: new LogController({ disableRequestLogging: true }), genReqId: () => Math.random().toString(36).slice(2, 10) });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const reasons = deps.notReady();
    return reply.code(reasons.length ? 503 : 200).send({ ok: reasons.length === 0, reasons });
  });
  const consoleAuth: ConsoleHandle | undefined = deps.console ? registerConsole(app, { metrics: deps.metrics, ...deps.console }) : undefined;
  app.get('/metrics', async (req, reply) => {
    if (!deps.metricsPublic && !consoleAuth?.loggedIn(req)) return reply.code(401).send({ error: 'metrics need a console session or web.metrics.public: true' });
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  if (deps.freebusy) registerFreeBusyRoutes(app, { ...deps.freebusy, ...(consoleAuth ? { loggedIn: (req) => consoleAuth.loggedIn(req) } : {}) });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));
  // Never a stack trace to a peer: errors are logged once here and answered generically.
  app.setErrorHandler((err, req, reply) => {
    req.log.error({ event: 'service.crashed', err }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  return app;
}
