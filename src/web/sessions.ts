/**
 * Console sessions: a random 256-bit id in an HttpOnly cookie, the state on the
 * server, in this process's memory. Each session has an idle expiry (no request
 * for `idleMs`) and an absolute one (`absoluteMs` after login), and its own CSRF
 * token. Memory only, said plainly (DESIGN.md "no state only one process can see
 * without saying so"): a restart logs everybody out, and several nodes behind a
 * load balancer need sticky sessions until sessions move into the store.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** When the session ends at the latest (absolute expiry). */
  expiresAt: number;
}

export interface SessionOptions {
  idleMs: number;
  absoluteMs: number;
  /** Sessions kept at most; the least recently used one goes first. */
  max?: number;
  now?: () => number;
}

/** 32 random bytes, base64url: 43 characters. */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Constant-time equality of two secrets of any length: both are hashed first, so
 * neither the content nor the length of the expected one leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  private readonly max: number;

  constructor(private readonly opts: SessionOptions) {
    this.now = opts.now ?? Date.now;
    this.max = opts.max ?? 10_000;
  }

  create(user: string): Session {
    const t = this.now();
    this.prune(t);
    while (this.sessions.size >= this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const s: Session = { id: newToken(), user, csrfToken: newToken(), createdAt: t, lastSeenAt: t, expiresAt: t + this.opts.absoluteMs };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session for an id, or undefined; `touch` counts this as activity (idle expiry). */
  get(id: string | undefined, { touch = true } = {}): Session | undefined {
    if (!id || !ID_PATTERN.test(id)) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (this.expired(s, t)) {
      this.sessions.delete(id);
      return undefined;
    }
    if (touch) {
      s.lastSeenAt = t;
      // Map order is insertion order: re-inserting keeps the least recently used first.
      this.sessions.delete(id);
      this.sessions.set(id, s);
    }
    return s;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(s: Session, t: number): boolean {
    return t >= s.expiresAt || t - s.lastSeenAt >= this.opts.idleMs;
  }

  private prune(t: number): void {
    for (const [id, s] of this.sessions) if (this.expired(s, t)) this.sessions.delete(id);
  }
}
