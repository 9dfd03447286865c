/**
 * The web console (issue 7): its pages, its JSON API under /api, and the guard
 * in front of both. Every route here needs a session except the login page, the
 * login call and the static files the login page itself loads; pages without a
 * session redirect to /login, API routes answer 401; a state-changing request
 * also needs its session's CSRF token in `x-csrf-token` (403 without). Every
 * answer carries the security headers (CSP without inline scripts, no framing,
 * no referrer). /healthz, /readyz, /metrics and /freebusy live outside this
 * scope (server.ts, freebusy-routes.ts).
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import { defaultAssetsDir, loadAssets, type Asset } from './console-assets.js';
import { ConsoleAuth, overTls, reqLog, type AuditSink, type ConsoleUser } from './console-auth.js';
import { OverviewFeed } from './console-feed.js';
import { buildOverview, type CheckRow, type MigrationProgress, type Overview, type QueueRow, type RunRow } from './overview.js';
import type { Session } from './sessions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** public: no session needed; page: redirect to /login without one; session (default): 401 without one. */
    access?: 'public' | 'page' | 'session';
  }
}

export interface AuditListEntry { id: string; at: number; actor: string; action: string; target: string | null; details: Record<string, unknown> }

export interface CheckRunSummary { ok: boolean; endpoints: number; durationMs: number }

/**
 * What an area of the console (queue, tracking, directory, migration,
 * free/busy) gets to register its API routes with: the guard has already
 * checked the session and the CSRF token of every route it adds.
 */
export interface ConsoleKit {
  /** The session of a request that passed the guard. */
  sessionOf(req: FastifyRequest): Session;
  /** Records an action in the audit log (who is the session's user). */
  audit(req: FastifyRequest, action: string, details?: Record<string, unknown>, target?: string): Promise<void>;
  metrics?: Metrics;
}

/** Registers one area's routes (GET /api/queue, ...); built by the composition root with its own dependencies. */
export type ConsoleArea = <L extends FastifyBaseLogger>(app: App<L>, kit: ConsoleKit) => void;

/** What the console needs, built by the CLI from the store and the config (web never opens the database). */
export interface ConsoleDeps {
  organization: string;
  users: readonly ConsoleUser[];
  checks: { latest(): Promise<CheckRow[]> };
  audit: AuditSink & { list(opts: { limit: number }): Promise<AuditListEntry[]> };
  /** Job runs; the overview shows the last directory sync from it. */
  runs?: { latest(kind: string): Promise<RunRow | null> };
  /** Per system the endpoints the config has (so a never-checked one shows grey). */
  expected?: Record<string, string[]>;
  /** A result older than this shows grey: nobody is refreshing it. */
  staleAfterMs: number;
  /** The gateway's queue per destination, when a gateway runs in this process (undefined until it has started). */
  queue?: () => QueueRow[] | undefined;
  /** The queue light turns red when its oldest waiting message is older than this (ms); default 30 min. */
  queueAlarmMs?: number;
  /** Open address conflicts in the unified directory. */
  conflicts?: () => Promise<number>;
  /** Migration progress: users by state, messages and bytes copied, ETA. */
  migration?: () => Promise<MigrationProgress | undefined>;
  /** Runs the endpoint checks now and records them (POST /api/checks/run); absent: no such action. */
  runChecks?: () => Promise<CheckRunSummary>;
  metrics?: Metrics;
  now?: () => number;
  session?: { idleMs?: number; absoluteMs?: number };
  login?: { maxFailures?: number; windowMs?: number };
  /** How often /api/events sends the overview; default 2 s. */
  pushIntervalMs?: number;
  assetsDir?: string;
  /** The pages beyond the overview, each with its API routes. */
  areas?: readonly ConsoleArea[];
}

/** What server.ts asks of the console for routes outside it (/metrics when not public). */
export interface ConsoleHandle {
  loggedIn(req: FastifyRequest): boolean;
}

export type App<L extends FastifyBaseLogger> = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>;

const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
].join('; ');

function securityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  void reply.headers({
    'content-security-policy': CSP,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  });
  // HSTS only means something on an answer that came over TLS (RFC 6797 section 7.2).
  if (overTls(req)) void reply.header('strict-transport-security', 'max-age=31536000');
}

export async function consoleOverview(deps: ConsoleDeps): Promise<Overview> {
  const [checks, directory, conflicts, migration] = await Promise.all([
    deps.checks.latest(), deps.runs ? deps.runs.latest('directory') : undefined, deps.conflicts?.(), deps.migration?.(),
  ]);
  const queue = deps.queue?.();
  return buildOverview({
    ...(queue ? { queue } : {}),
    ...(deps.queueAlarmMs ? { queueAlarmMs: deps.queueAlarmMs } : {}),
    ...(conflicts !== undefined ? { conflicts } : {}),
    ...(migration ? { migration } : {}),
    organization: deps.organization,
    now: (deps.now ?? Date.now)(),
    staleAfterMs: deps.staleAfterMs,
    checks,
    ...(deps.expected ? { expected: deps.expected } : {}),
    runs: directory === undefined ? {} : { directory },
  });
}

export function registerConsole<L extends FastifyBaseLogger>(app: App<L>, deps: ConsoleDeps): ConsoleHandle {
  const auth = new ConsoleAuth({
    users: deps.users, audit: deps.audit,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.session?.idleMs ? { sessionIdleMs: deps.session.idleMs } : {}),
    ...(deps.session?.absoluteMs ? { sessionAbsoluteMs: deps.session.absoluteMs } : {}),
    ...(deps.login?.maxFailures ? { loginMaxFailures: deps.login.maxFailures } : {}),
    ...(deps.login?.windowMs ? { loginWindowMs: deps.login.windowMs } : {}),
  });
  const assets = loadAssets(deps.assetsDir ?? defaultAssetsDir());
  const feed = new OverviewFeed({
    intervalMs: deps.pushIntervalMs ?? 2000,
    snapshot: () => consoleOverview(deps),
    onError: (err) => logEvent(app.log as unknown as Logger, 'service.crashed', { err, route: 'console events' }, undefined, deps.metrics),
  });
  // An open event stream would hold fastify's close() up forever.
  app.addHook('preClose', async () => feed.closeAll());
  void app.register(async (scope) => routes(scope, deps, auth, assets, feed));
  return { loggedIn: (req) => auth.sessionOf(req) !== undefined };
}

async function routes<L extends FastifyBaseLogger>(app: App<L>, deps: ConsoleDeps, auth: ConsoleAuth, assets: Map<string, Asset>, feed: OverviewFeed): Promise<void> {
  const sessions = new WeakMap<FastifyRequest, Session>();
  const sessionOf = (req: FastifyRequest): Session => {
    const s = sessions.get(req);
    if (!s) throw new Error('console route without a session: the guard did not run');
    return s;
  };

  app.addHook('onRequest', async (req, reply) => {
    securityHeaders(req, reply);
    const access = req.routeOptions.config.access ?? 'session';
    if (access === 'public') return;
    const s = auth.sessionOf(req);
    if (!s) {
      if (access === 'page') return reply.redirect('/login', 302);
      return reply.code(401).send({ error: 'login required' });
    }
    if (!auth.csrfOk(req, s)) {
      logEvent(reqLog(req), 'console.csrf.rejected', { user: s.user, method: req.method, url: req.url }, undefined, deps.metrics);
      return reply.code(403).send({ error: 'missing or wrong x-csrf-token' });
    }
    sessions.set(req, s);
  });

  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message ?? 'bad request' });
    logEvent(reqLog(req), 'service.crashed', { err, route: 'console' }, 'console request failed', deps.metrics);
    return reply.code(500).send({ error: 'internal error' });
  });

  const sendAsset = (reply: FastifyReply, name: string): FastifyReply => {
    const a = assets.get(name);
    if (!a) return reply.code(404).send({ error: 'not found' });
    return reply.type(a.type).send(a.body);
  };

  app.get('/', { config: { access: 'page' } }, async (_req, reply) => sendAsset(reply, 'index.html'));
  app.get('/login', { config: { access: 'public' } }, async (req, reply) => {
    if (auth.sessionOf(req)) return reply.redirect('/', 302);
    return sendAsset(reply, 'login.html');
  });
  app.get<{ Params: { name: string } }>('/assets/:name', { config: { access: 'public' } }, async (req, reply) => {
    // The login page loads these before there is a session; they hold code, never data.
    if (req.params.name.endsWith('.html')) return reply.code(404).send({ error: 'not found' });
    return sendAsset(reply, req.params.name);
  });

  app.post('/api/login', { config: { access: 'public' }, bodyLimit: 4096 }, async (req, reply) => auth.login(req, reply));
  app.post('/api/logout', async (req, reply) => auth.logout(req, reply, sessionOf(req)));
  app.get('/api/session', async (req) => {
    const s = sessionOf(req);
    return { user: s.user, csrfToken: s.csrfToken, expiresAt: s.expiresAt };
  });

  app.get('/api/overview', async () => consoleOverview(deps));

  app.get('/api/events', async (req, reply) => {
    const s = sessionOf(req);
    if (feed.size >= 100) return reply.code(503).header('retry-after', '30').send({ error: 'too many open event streams' });
    reply.hijack();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === 'string') headers[k] = v;
    reply.raw.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    reply.raw.write('retry: 3000\n\n');
    feed.add({ res: reply.raw, alive: () => auth.sessions.get(s.id, { touch: false }) !== undefined });
  });

  app.post('/api/checks/run', async (req, reply) => {
    const s = sessionOf(req);
    if (!deps.runChecks) return reply.code(404).send({ error: 'checks cannot be started from this process' });
    logEvent(reqLog(req), 'console.action', { user: s.user, action: 'checks.run' }, undefined, deps.metrics);
    await auth.audit(req, s.user, 'checks.run');
    const summary = await deps.runChecks();
    return reply.send(summary);
  });

  app.get<{ Querystring: { limit?: string } }>('/api/audit', async (req) => {
    const limit = Math.min(200, Math.max(1, Number.parseInt(req.query.limit ?? '50', 10) || 50));
    return { entries: await deps.audit.list({ limit }) };
  });

  const kit: ConsoleKit = {
    sessionOf,
    audit: async (req, action, details = {}, target) => {
      const s = sessionOf(req);
      logEvent(reqLog(req), 'console.action', { user: s.user, action, ...(target ? { target } : {}) }, undefined, deps.metrics);
      await auth.audit(req, s.user, action, details, target);
    },
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  };
  for (const area of deps.areas ?? []) area(app, kit);

  // Unknown API paths: 401 without a session like every other, 404 with one.
  app.all('/api/*', async (_req, reply) => reply.code(404).send({ error: 'not found' }));
}
