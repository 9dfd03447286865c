/**
 * The connections of one user's pass: the imapflow sessions of both sides (planning, control), the lean source
 * reader (raw-imap.ts) and the target's APPEND side (appender.ts), with the endpoint and limit helpers they share.
 */
import type { ImapFlow } from 'imapflow';
import { MbError } from '../core/index.js';
import type { SystemConfig } from '../config/index.js';
import { MigrationErrors } from './errors.js';
import { imapflowMaker, pipelinedMaker, type FolderMaker } from './folders.js';
import { appendMessage } from './imap-ops.js';
import { authFor, closeSession, openSession } from './session.js';
import { PipelinedAppender } from './appender.js';
import { RawImap } from './raw-imap.js';
import type { Appender } from './copier.js';
import type { FolderDeps } from './sync-folder.js';
import type { EngineDeps } from './engine.js';
import type { MigrationUser } from './types.js';

/** A server's key for the limiter: its endpoint, so two system names on one server share the limit. */
export function serverKey(deps: Pick<EngineDeps, 'source' | 'target'>, side: 'source' | 'target'): string {
  const ep = endpoints(deps)[side];
  return `${ep.host}:${ep.port}`;
}

export function endpoints(deps: Pick<EngineDeps, 'source' | 'target'>): { source: NonNullable<SystemConfig['imap']>; target: NonNullable<SystemConfig['imap']> } {
  const s = deps.source.imap;
  const t = deps.target.imap;
  if (!s || !t) {
    throw new MbError(MigrationErrors.MIGRATION_NOT_CONFIGURED,
      `migration needs imap on both systems: systems.${s ? deps.target.name : deps.source.name}.imap is missing`);
  }
  return { source: s, target: t };
}

export function openSide(deps: Pick<EngineDeps, 'source' | 'target'>, user: MigrationUser, side: 'source' | 'target'): Promise<ImapFlow> {
  const sys = side === 'source' ? deps.source : deps.target;
  const login = side === 'source' ? user.source : user.target;
  return openSession({ endpoint: endpoints(deps)[side], system: sys.name, address: user.address,
    ...(login ? { login } : {}), ...(sys.tlsInsecure ? { tlsInsecure: true } : {}) });
}

export function appendLimit(deps: EngineDeps, target: ImapFlow): number | undefined {
  const limits = [deps.migration.maxMessageSize, deps.target.imap?.appendLimit];
  const cap = target.capabilities.get('APPENDLIMIT');
  if (typeof cap === 'number' && cap > 0) limits.push(cap);
  const set = limits.filter((n): n is number => typeof n === 'number');
  return set.length > 0 ? Math.min(...set) : undefined;
}

/** The source side of the copy: a lean pipelined reader (raw-imap.ts) logged in like the imapflow session. */
export function openReader(deps: EngineDeps, user: MigrationUser): Promise<RawImap> {
  const ep = endpoints(deps).source;
  const auth = authFor({ endpoint: ep, system: deps.source.name, address: user.address, ...(user.source ? { login: user.source } : {}) });
  return RawImap.open(ep, { user: auth.user, pass: auth.pass ?? '', ...(auth.authzid ? { authzid: auth.authzid } : {}) }, deps.source.name, deps.source.tlsInsecure === true);
}

/**
 * The APPEND side: pipelined connections when the target offers LITERAL+ (see
 * appender.ts), else imapflow sessions (one command in flight each).
 */
export async function openAppenders(deps: EngineDeps, user: MigrationUser, control: ImapFlow):
  Promise<{ appenders: Appender[]; close: () => void; status?: FolderDeps['targetStatus']; maker?: FolderMaker }> {
  const n = Math.max(1, deps.appendConnections ?? 2);
  if (control.capabilities.has('LITERAL+')) {
    const ep = endpoints(deps).target;
    const auth = authFor({ endpoint: ep, system: deps.target.name, address: user.address, ...(user.target ? { login: user.target } : {}) });
    const pipes: PipelinedAppender[] = [];
    try {
      for (let i = 0; i < n; i++) pipes.push(await PipelinedAppender.open(ep, { user: auth.user, pass: auth.pass ?? '', ...(auth.authzid ? { authzid: auth.authzid } : {}) }, deps.target.tlsInsecure === true));
    } catch (err) {
      for (const p of pipes) p.close();
      throw err;
    }
    return { appenders: pipes.map((p) => ({ append: (f, b, fl, d) => p.append(f.wire, b, fl, d), appendMany: (f, items) => p.appendMany(f.wire, items) })),
      close: () => { for (const p of pipes) p.close(); }, status: (wire) => pipes[0]!.status(wire), maker: pipelinedMaker(pipes[0]!, imapflowMaker(control)) };
  }
  const conns = [control];
  for (let i = 1; i < n; i++) conns.push(await openSide(deps, user, 'target'));
  return {
    appenders: conns.map((c) => ({ append: (f, b, fl, d) => appendMessage(c, f.path, b, fl, d) })),
    close: () => { for (const c of conns.slice(1)) void closeSession(c); },
  };
}
