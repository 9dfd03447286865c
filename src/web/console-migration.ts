/**
 * The console's Migration page API (issue 7): per user state, progress, last
 * pass, counts and errors; one user's folders, refused messages with the target
 * server's answer, the last verify outcome and the cutover record when there is
 * one; messages and bytes copied per time bucket for the throughput chart.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ConsoleMigrationUser, MigrationFolderRow, RefusedRow, ThroughputBucket } from '../store/index.js';
import type { App, ConsoleArea } from './console-routes.js';
import { parseParams } from './console-params.js';
import { addressParam, badRequest, HOUR } from './console-page-util.js';

export interface MigrationAreaDeps {
  /** Every user the engine has seen, or the one asked for. */
  users(address?: string): Promise<ConsoleMigrationUser[]>;
  folders(address: string): Promise<MigrationFolderRow[]>;
  refusals(address: string): Promise<RefusedRow[]>;
  throughput(opts: { since: number; bucketMs: number; address?: string }): Promise<ThroughputBucket[]>;
  /** The last recorded `migrate verify` of a mailbox, passing or not. */
  lastVerify?(address: string): Promise<{ at: number; details: Record<string, unknown> } | null>;
  cutover?(address: string): Promise<{ user: Record<string, unknown> | null; records: Record<string, unknown>[] } | null>;
  /** The migration's systems, for the page's heading. */
  from?: string;
  to?: string;
  now?: () => number;
}

export interface UserView extends ConsoleMigrationUser {
  /** 0..1; null while a pass runs or after a failure (its total is not known yet). */
  progress: number | null;
  /** Messages copied so far (the message map's done rows). */
  copied: number;
  refused: number;
  lastPass: number | null;
}

/**
 * Progress of one user: a finished pass (synced, verified, cut over) is whole; a
 * user not started is at zero; while a pass runs, the share of the last pass's
 * source count already copied, when there was a last pass to compare with.
 */
export function userView(u: ConsoleMigrationUser): UserView {
  const copied = u.messages.done ?? 0;
  const refused = u.messages.refused ?? 0;
  let progress: number | null = null;
  if (['synced', 'verified', 'cutover'].includes(u.state)) progress = 1;
  else if (u.state === 'pending') progress = 0;
  else if (u.state === 'copying' && (u.counts.seen ?? 0) > 0) progress = Math.min(1, copied / (u.counts.seen ?? 1));
  return { ...u, progress, copied, refused, lastPass: u.finishedAt };
}

export function migrationArea(deps: MigrationAreaDeps): ConsoleArea {
  const now = deps.now ?? Date.now;
  const throughputSpec = { since: { kind: 'time' }, bucket: { kind: 'duration' }, address: { kind: 'text', max: 320 } } as const;

  return <L extends FastifyBaseLogger>(app: App<L>): void => {
    app.get('/api/migration/users', async (req, reply) => {
      const p = parseParams(req.query, {});
      if (!p.ok) return badRequest(reply, p.error);
      const users = (await deps.users()).map(userView);
      const byState: Record<string, number> = {};
      for (const u of users) byState[u.state] = (byState[u.state] ?? 0) + 1;
      const totals = { users: users.length, byState, copied: users.reduce((n, u) => n + u.copied, 0), copiedBytes: users.reduce((n, u) => n + u.copiedBytes, 0), refused: users.reduce((n, u) => n + u.refused, 0) };
      return { from: deps.from ?? null, to: deps.to ?? null, totals, users };
    });

    app.get<{ Params: { address: string } }>('/api/migration/users/:address', async (req, reply) => {
      const a = addressParam(req.params.address);
      if (!a.ok) return badRequest(reply, a.error);
      const [user] = await deps.users(a.value);
      if (!user) return reply.code(404).send({ error: `${a.value} has not been migrated (no pass recorded)`, address: a.value });
      const [folders, refusals, cutover] = await Promise.all([deps.folders(a.value), deps.refusals(a.value), deps.cutover ? deps.cutover(a.value) : null]);
      const view = userView(user);
      // `migrate verify` records each result; without one, a passing verify still shows as the state 'verified'.
      const last = deps.lastVerify ? await deps.lastVerify(a.value) : null;
      const verify = last
        ? { ok: last.details['ok'] === true, at: last.at, note: last.details['ok'] === true ? 'source and target compared equal' : `${String(last.details['differences'] ?? '?')} difference(s)`, details: last.details }
        : user.state === 'verified'
          ? { ok: true, at: user.updatedAt, note: 'source and target compared equal' }
          : { ok: null, at: null, note: 'no verify recorded since the last pass (run mailbridge migrate verify)' };
      return { user: view, folders, refusals, verify, cutover };
    });

    app.get('/api/migration/throughput', async (req, reply) => {
      const p = parseParams(req.query, throughputSpec);
      if (!p.ok) return badRequest(reply, p.error);
      const t = now();
      const since = p.value.since ?? t - 24 * HOUR;
      const bucketMs = p.value.bucket ?? 5 * 60_000;
      if (bucketMs < 60_000 || bucketMs > 24 * HOUR) return badRequest(reply, 'bucket: between 1m and 1d');
      if (since > t) return badRequest(reply, 'since: in the future');
      if ((t - since) / bucketMs > 2000) return badRequest(reply, `since/bucket: more than 2000 buckets; choose a later since or a larger bucket`);
      let address: string | undefined;
      if (p.value.address) {
        const a = addressParam(p.value.address);
        if (!a.ok) return badRequest(reply, a.error);
        address = a.value;
      }
      const points = await deps.throughput({ since, bucketMs, ...(address ? { address } : {}) });
      return { since, until: t, bucketMs, points };
    });
  };
}
