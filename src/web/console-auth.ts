/**
 * Console login (issue 7, DESIGN.md HTTP contract): POST /api/login, POST
 * /api/logout, GET /api/session, and what the console's guard asks of a
 * request (its session, its CSRF token). Passwords are checked against the
 * scrypt hashes of web.users; failures are throttled per IP and per name
 * (login-limiter.ts); logins, failures and logouts go to the audit log.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyPassword } from '../core/index.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import { parseCookies, serializeCookie } from './cookies.js';
import { LoginLimiter } from './login-limiter.js';
import { SessionStore, safeEqual, type Session } from './sessions.js';

export interface ConsoleUser {
  name: string;
  passwordHash: string;
}

/** The part of the store's audit log the console writes to. */
export interface AuditSink {
  record(e: { actor: string; action: string; target?: string | null; details?: Record<string, unknown> }): Promise<unknown>;
}

export interface AuthOptions {
  users: readonly ConsoleUser[];
  audit: AuditSink;
  metrics?: Metrics;
  /** Default 30 min without a request. */
  sessionIdleMs?: number;
  /** Default 12 h after login, whatever the activity. */
  sessionAbsoluteMs?: number;
  /** Default 5 failures per 15 min, per IP and per login name. */
  loginMaxFailures?: number;
  loginWindowMs?: number;
  now?: () => number;
}

export const SESSION_COOKIE = 'mailbridge_session';
export const CSRF_HEADER = 'x-csrf-token';

/**
 * A well-formed hash of a random password, so that an unknown login name costs
 * the same scrypt work as a known one and timing does not tell which names exist.
 */
const DUMMY_HASH = 'scrypt$16384$8$1$bWFpbGJyaWRnZS1kdW1teQ==$Q29uc29sZUR1bW15SGFzaEZvclRpbWluZ0VxdWFsaXQ=';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The server is built with a pino loggerInstance, so each request's logger is a pino child with reqId. */
export function reqLog(req: FastifyRequest): Logger {
  return req.log as unknown as Logger;
}

/** Served over TLS by this process (fastify without trustProxy: the socket itself). */
export function overTls(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export interface LoginBody { name: string; password: string }

function loginBody(body: unknown): LoginBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { name, password } = body as Record<string, unknown>;
  if (typeof name !== 'string' || typeof password !== 'string') return undefined;
  if (name.length === 0 || name.length > 200 || password.length > 1024) return undefined;
  return { name, password };
}

export class ConsoleAuth {
  readonly sessions: SessionStore;
  readonly limiter: LoginLimiter;
  private readonly absoluteMs: number;

  constructor(private readonly opts: AuthOptions) {
    this.absoluteMs = opts.sessionAbsoluteMs ?? 12 * 3600_000;
    this.sessions = new SessionStore({ idleMs: opts.sessionIdleMs ?? 30 * 60_000, absoluteMs: this.absoluteMs, ...(opts.now ? { now: opts.now } : {}) });
    this.limiter = new LoginLimiter({ maxFailures: opts.loginMaxFailures ?? 5, windowMs: opts.loginWindowMs ?? 15 * 60_000, ...(opts.now ? { now: opts.now } : {}) });
  }

  /** The request's live session; `touch: false` for requests that are not user activity (event stream ticks). */
  sessionOf(req: FastifyRequest, touch = true): Session | undefined {
    return this.sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE), { touch });
  }

  /** True when a state-changing request carries its session's CSRF token (safe methods need none). */
  csrfOk(req: FastifyRequest, s: Session): boolean {
    if (SAFE_METHODS.has(req.method)) return true;
    const given = req.headers[CSRF_HEADER];
    return typeof given === 'string' && safeEqual(given, s.csrfToken);
  }

  /** Writes an audit entry; a store failure is logged and does not undo what was done. */
  async audit(req: FastifyRequest, actor: string, action: string, details: Record<string, unknown> = {}, target?: string): Promise<void> {
    try {
      await this.opts.audit.record({ actor, action, target: target ?? null, details: { ip: req.ip, ...details } });
    } catch (err) {
      logEvent(reqLog(req), 'console.audit.failed', { err, action }, undefined, this.opts.metrics);
    }
  }

  private cookie(req: FastifyRequest, value: string, maxAgeSec: number): string {
    return serializeCookie(SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(req), maxAge: maxAgeSec });
  }

  async login(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = loginBody(req.body);
    if (!body) return reply.code(400).send({ error: 'send JSON {"name": ..., "password": ...}' });
    const keys = [`ip:${req.ip}`, `user:${body.name}`];
    const verdict = this.limiter.check(keys);
    if (verdict.limited) {
      logEvent(reqLog(req), 'console.login.throttled', { ip: req.ip, retryAfterSec: verdict.retryAfterSec }, undefined, this.opts.metrics);
      return reply.code(429).header('retry-after', String(verdict.retryAfterSec)).send({ error: 'too many failed logins; try again later', retryAfterSec: verdict.retryAfterSec });
    }
    // Counted before the (slow) scrypt check, so parallel guesses cannot all slip
    // past the limit while the first ones are being verified; forgiven on success.
    const at = this.limiter.fail(keys);
    const user = this.opts.users.find((u) => u.name === body.name);
    const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) {
      logEvent(reqLog(req), 'console.login.failed', { ip: req.ip }, undefined, this.opts.metrics);
      await this.audit(req, body.name.slice(0, 100), 'console.login.failed', { reason: user ? 'wrong password' : 'unknown user' });
      return reply.code(401).send({ error: 'wrong name or password' });
    }
    this.limiter.clear(`user:${body.name}`);
    this.limiter.forgive(`ip:${req.ip}`, at);
    const s = this.sessions.create(user.name);
    logEvent(reqLog(req), 'console.login.succeeded', { user: user.name, ip: req.ip }, undefined, this.opts.metrics);
    await this.audit(req, user.name, 'console.login');
    void reply.header('set-cookie', this.cookie(req, s.id, this.absoluteMs / 1000));
    return reply.send({ user: s.user, csrfToken: s.csrfToken, expiresAt: s.expiresAt });
  }

  async logout(req: FastifyRequest, reply: FastifyReply, s: Session): Promise<FastifyReply> {
    this.sessions.destroy(s.id);
    logEvent(reqLog(req), 'console.logout', { user: s.user }, undefined, this.opts.metrics);
    await this.audit(req, s.user, 'console.logout');
    void reply.header('set-cookie', this.cookie(req, '', 0));
    return reply.send({ ok: true });
  }
}
