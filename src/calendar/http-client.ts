/**
 * HTTP for calendar sources over node:http/https with a keep-alive agent per
 * source (free/busy fans out to the same server again and again; new TCP
 * connections would dominate the latency) and `tlsInsecure` honoured per
 * system. Remote answers are classified by one table (STYLE.md: one
 * classifier per protocol), so a 503 is never reported as "no calendar".
 */
import http from 'node:http';
import https from 'node:https';
import type { Secret } from '../core/secret.js';
import { MbError, type RetryClass } from '../core/errors.js';
import { CalendarErrors, type CalendarErrorCode } from './errors.js';

/** More than any real calendar answer for a 62-day window; guards memory against a runaway server. */
const MAX_BODY = 64 * 1024 * 1024;

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpClientOptions {
  user?: string;
  password?: Secret;
  tlsInsecure?: boolean;
  /** Parallel connections per source; further requests queue in the agent. */
  maxSockets?: number;
}

/** HTTP status of a source -> what it means for the lookup (first match wins). */
export const HTTP_STATUS_TABLE: readonly { test: (s: number) => boolean; code: CalendarErrorCode; retry: RetryClass; what: string }[] = [
  { test: (s) => s === 401 || s === 403 || s === 407, code: CalendarErrors.CALENDAR_SOURCE_DENIED, retry: 'permanent', what: 'refused mailbridge\'s credentials' },
  { test: (s) => s === 404 || s === 410, code: CalendarErrors.CALENDAR_NOT_FOUND, retry: 'permanent', what: 'has no such calendar' },
  { test: (s) => s === 408 || s === 429 || s >= 500, code: CalendarErrors.CALENDAR_SOURCE_UNREACHABLE, retry: 'transient', what: 'is unavailable' },
  { test: () => true, code: CalendarErrors.CALENDAR_SOURCE_PROTOCOL, retry: 'permanent', what: 'answered unexpectedly' },
];

export function classifyStatus(status: number, what: string): MbError {
  const row = HTTP_STATUS_TABLE.find((r) => r.test(status))!;
  return new MbError(row.code, `${what}: the source ${row.what} (HTTP ${status})`, { retry: row.retry, details: { status } });
}

/** A network-level failure (no HTTP answer) as a calendar error; an abort is the timeout. */
export function classifyNetworkError(err: unknown, what: string, signal: AbortSignal): MbError {
  if (MbError.is(err)) return err;
  if (signal.aborted) {
    return new MbError(CalendarErrors.CALENDAR_SOURCE_TIMEOUT, `${what}: no answer within the timeout`, { retry: 'transient' });
  }
  const code = (err as { code?: unknown }).code;
  const reason = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
  return new MbError(CalendarErrors.CALENDAR_SOURCE_UNREACHABLE, `${what}: ${reason}`, { retry: 'transient', cause: err });
}

export class HttpClient {
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #auth: string | undefined;

  constructor(opts: HttpClientOptions = {}) {
    const maxSockets = opts.maxSockets ?? 8;
    this.#http = new http.Agent({ keepAlive: true, maxSockets });
    this.#https = new https.Agent({ keepAlive: true, maxSockets, rejectUnauthorized: opts.tlsInsecure !== true });
    this.#auth = opts.user === undefined ? undefined
      : `Basic ${Buffer.from(`${opts.user}:${opts.password?.reveal() ?? ''}`, 'utf8').toString('base64')}`;
  }

  /** One request; resolves with any HTTP status, rejects (classified) only when there is no answer. */
  request(method: string, url: URL, signal: AbortSignal, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
    const what = `${method} ${url.origin}${url.pathname}`;
    const lib = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.#https : this.#http;
    const all: Record<string, string> = { ...headers };
    if (this.#auth) all.authorization = this.#auth;
    if (body !== undefined) all['content-length'] = String(Buffer.byteLength(body));
    return new Promise<HttpAnswer>((resolve, reject) => {
      if (signal.aborted) {
        reject(classifyNetworkError(signal.reason, what, signal));
        return;
      }
      const req = lib.request(url, { method, headers: all, agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            req.destroy(new MbError(CalendarErrors.CALENDAR_SOURCE_PROTOCOL, `${what}: answer larger than ${MAX_BODY} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(classifyNetworkError(err, what, signal)));
        // An abort or reset mid-body may close the response without 'end' or 'error'.
        res.on('close', () => {
          if (!res.complete) reject(classifyNetworkError(new Error('connection closed before the answer was complete'), what, signal));
        });
      });
      req.on('error', (err) => reject(classifyNetworkError(err, what, signal)));
      req.end(body);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
