/**
 * The connections of one user's pass: the lean source reader (raw-imap.ts), the target's APPEND side
 * (appender.ts), each listing its side's folders itself (listing.ts), and imapflow sessions only where those do
 * not serve: the target's control session (opened on first use), a target without LITERAL+, a server whose
 * listing is left to imapflow, and the verify/plan/dry-run commands.
 */
import type { ImapFlow } from 'imapflow';
import { MbError, describeError, settleAll } from '../core/index.js';
import type { SystemConfig } from '../config/index.js';
import { MigrationErrors } from './errors.js';
import { imapflowMaker, pipelinedMaker, planUserFolders, targetInfo, type FolderMaker } from './folders.js';
import { appendMessage } from './imap-ops.js';
import { imapflowListing, rawListing, type Listing } from './listing.js';
import { authFor, openSession } from './session.js';
import { PipelinedAppender } from './appender.js';
import { RawImap } from './raw-imap.js';
import { SharedReader } from './shared-reader.js';
import type { Appender } from './copier.js';
import type { FolderDeps } from './sync-folder.js';
import type { EngineDeps } from './engine.js';
import type { MigrationUser } from './types.js';
import { logEvent, type Logger } from '../observe/index.js';
import type { MappingPlan } from '../protocol/imap/index.js';
import { expectedMessages } from './expected.js';
import { laneWork, lanesFor, type LaneWork } from './lanes.js';
import type { MigrationState } from './state.js';

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

/** The smallest of the configured size limits and the APPENDLIMIT the target announced (RFC 7889; a number only). */
export function appendLimit(deps: EngineDeps, announced: number | undefined): number | undefined {
  const limits = [deps.migration.maxMessageSize, deps.target.imap?.appendLimit, announced !== undefined && announced > 0 ? announced : undefined];
  const set = limits.filter((n): n is number => typeof n === 'number');
  return set.length > 0 ? Math.min(...set) : undefined;
}

/** APPENDLIMIT=N among raw capabilities, or imapflow's parsed number. */
export function announcedLimit(caps: ReadonlySet<string> | ImapFlow['capabilities']): number | undefined {
  if (caps instanceof Map) {
    const v = caps.get('APPENDLIMIT');
    return typeof v === 'number' ? v : undefined;
  }
  for (const c of caps) if (c.startsWith('APPENDLIMIT=')) return Number(c.slice(12)) || undefined;
  return undefined;
}

/** The source side of the copy: a lean pipelined reader (raw-imap.ts) logged in like the imapflow session. */
export function openReader(deps: EngineDeps, user: MigrationUser): Promise<RawImap> {
  const ep = endpoints(deps).source;
  const auth = authFor({ endpoint: ep, system: deps.source.name, address: user.address, ...(user.source ? { login: user.source } : {}) });
  return RawImap.open(ep, { user: auth.user, pass: auth.pass ?? '', ...(auth.authzid ? { authzid: auth.authzid } : {}) }, deps.source.name, deps.source.tlsInsecure === true);
}

/** The source of a pass: the lean reader, its folder listing, and STATUS on it. */
export interface SourceSide {
  reader: RawImap;
  listing: Listing;
}

/**
 * Logs in the reader and lists the folders on it; only a server rawListing() leaves to imapflow gets an imapflow
 * session (recorded in `sessions`).
 */
export async function openSource(deps: EngineDeps, user: MigrationUser, sessions: ImapFlow[], closers: (() => void)[]): Promise<SourceSide> {
  const reader = await openReader(deps, user);
  closers.push(() => reader.close());
  let listing = await rawListing(reader);
  if (!listing) {
    const s = await openSide(deps, user, 'source');
    sessions.push(s);
    sourceSessions.add(s);
    listing = await imapflowListing(s);
  }
  return { reader, listing };
}

/** imapflow sessions opened on a source: a BYE on one of them names the source as the side that throttled. */
export const sourceSessions = new WeakSet<ImapFlow>();

/** The target of a pass. */
export interface TargetSide {
  appenders: Appender[];
  /** The imapflow session for flags, deletes, reconciling and recovery, opened on first use (recorded in `sessions`). */
  control: () => Promise<ImapFlow>;
  /** STATUS of a target folder on the APPEND connection (pipelined targets only). */
  status?: FolderDeps['targetStatus'];
  maker: FolderMaker;
  listing: Listing;
  /** Pipelined APPEND connections (the target offers LITERAL+), else imapflow sessions. */
  pipelined: boolean;
  maxSize?: number;
}

/** APPEND connections per lane (EngineDeps.appendConnections, default 2). */
const appendCount = (deps: EngineDeps): number => Math.max(1, deps.appendConnections ?? 2);

/** The target's imapflow control session of one lane, opened on first use (recorded in `sessions`). */
function lazyControl(deps: EngineDeps, user: MigrationUser, sessions: ImapFlow[]): () => Promise<ImapFlow> {
  let opened: Promise<ImapFlow> | undefined;
  return () => opened ??= openSide(deps, user, 'target').then((c) => { sessions.push(c); return c; });
}

function pipeOpener(deps: EngineDeps, user: MigrationUser): () => Promise<PipelinedAppender> {
  const ep = endpoints(deps).target;
  const auth = authFor({ endpoint: ep, system: deps.target.name, address: user.address, ...(user.target ? { login: user.target } : {}) });
  return () => PipelinedAppender.open(ep, { user: auth.user, pass: auth.pass ?? '', ...(auth.authzid ? { authzid: auth.authzid } : {}) }, deps.target.tlsInsecure === true, deps.target.name);
}

/** `count` pipelined APPEND connections (the first given, when already open), closed with the pass. */
async function pipelinedSide(open: () => Promise<PipelinedAppender>, count: number, closers: (() => void)[], first?: PipelinedAppender): Promise<PipelinedAppender[]> {
  const pipes = first ? [first] : [];
  while (pipes.length < count) {
    const p = await open();
    closers.push(() => p.close());
    pipes.push(p);
  }
  return pipes;
}

const pipeAppender = (p: PipelinedAppender): Appender => ({ append: (f, b, fl, d) => p.append(f.wire, b, fl, d), appendMany: (f, items) => p.appendMany(f.wire, items) });

/** Extra imapflow sessions that APPEND (a target without LITERAL+), after `first`. */
async function imapflowSide(deps: EngineDeps, user: MigrationUser, sessions: ImapFlow[], count: number, first: ImapFlow): Promise<Appender[]> {
  const conns = [first];
  while (conns.length < count) {
    const c = await openSide(deps, user, 'target');
    sessions.push(c);
    conns.push(c);
  }
  return conns.map((c) => ({ append: (f, b, fl, d) => appendMessage(c, f.path, b, fl, d) }));
}

/**
 * The APPEND side: pipelined connections when the target offers LITERAL+ (see appender.ts), listing the folders
 * on the first one; else imapflow sessions (one command in flight each), the control session being the first.
 */
export async function openTarget(deps: EngineDeps, user: MigrationUser, sessions: ImapFlow[], closers: (() => void)[]): Promise<TargetSide> {
  const n = appendCount(deps);
  const control = lazyControl(deps, user, sessions);
  const open = pipeOpener(deps, user);
  const first = await open();
  closers.push(() => first.close());
  if (first.has('LITERAL+')) {
    const pipes = await pipelinedSide(open, n, closers, first);
    const listing = await rawListing(first) ?? await imapflowListing(await control());
    const maxSize = appendLimit(deps, announcedLimit(first.caps));
    return { appenders: pipes.map(pipeAppender), control, status: (wire) => first.status(wire), maker: pipelinedMaker(first, lazyMaker(control)),
      listing, pipelined: true, ...(maxSize !== undefined ? { maxSize } : {}) };
  }
  // No LITERAL+: imapflow throughout (it sends each literal after the server's continuation).
  first.close();
  const ctl = await control();
  const maxSize = appendLimit(deps, announcedLimit(ctl.capabilities));
  return { appenders: await imapflowSide(deps, user, sessions, n, ctl), control, maker: imapflowMaker(ctl),
    listing: await imapflowListing(ctl), pipelined: false, ...(maxSize !== undefined ? { maxSize } : {}) };
}

type TargetStatus = Awaited<ReturnType<NonNullable<FolderDeps['targetStatus']>>>;

/**
 * The target folders' STATUS, asked at once when a pass starts (pipelined: one round trip); `take` gives each
 * answer once, to the first source folder copied into that target folder. A folder's start then does not queue a
 * STATUS behind the MULTIAPPEND of the lane's previous folder, which the target may still be saving (engine.ts
 * starts the next folder meanwhile). A second source folder merged into the same target asks again on its lane:
 * the first one's messages are in it by then. So does a folder whose STATUS the server refused.
 */
export async function prefetchStatus(status: NonNullable<FolderDeps['targetStatus']>, wires: readonly string[]): Promise<(wire: string) => TargetStatus> {
  const unique = [...new Set(wires)];
  const answers = await Promise.all(unique.map((w) => status(w)));
  const known = new Map(unique.map((w, i) => [w, answers[i]]));
  return (wire) => {
    const st = known.get(wire);
    known.delete(wire);
    return st;
  };
}

/**
 * A lane of a pass (engine.ts): APPEND connections of its own, so one more folder is copied at once, and a reader
 * of its own or the first lane's (EngineDeps.shareReader, shared-reader.ts).
 */
export interface Lane {
  reader: SharedReader;
  target: Pick<TargetSide, 'appenders' | 'control' | 'status'>;
}

/**
 * Opens one more lane like the pass' first (`like`: its target side): the same kind and number of APPEND
 * connections with a control session of its own (a SELECT on a shared one would race with the other lane), and the
 * first lane's reader (`shared`) or one of its own.
 */
export async function openLane(deps: EngineDeps, user: MigrationUser, sessions: ImapFlow[], closers: (() => void)[], like: TargetSide, shared?: SharedReader): Promise<Lane> {
  const n = appendCount(deps);
  const control = lazyControl(deps, user, sessions);
  const [reader, target] = await settleAll([
    shared ? Promise.resolve(shared) : openReader(deps, user).then((r) => { closers.push(() => r.close()); return new SharedReader(r); }),
    like.pipelined
      ? pipelinedSide(pipeOpener(deps, user), n, closers).then((pipes) => ({ appenders: pipes.map(pipeAppender), control, status: (wire: string) => pipes[0]!.status(wire) }))
      : control().then(async (ctl) => ({ appenders: await imapflowSide(deps, user, sessions, n, ctl), control }))]);
  return { reader, target };
}

/** imapflowMaker on the control session, opened only if a name needs it. */
function lazyMaker(control: () => Promise<ImapFlow>): FolderMaker {
  return {
    create: async (wire) => imapflowMaker(await control()).create(wire),
    subscribe: async (wire) => imapflowMaker(await control()).subscribe(wire),
  };
}

/**
 * What the pass expects to copy (STATUS of every source folder on the reader, one round trip), the units of work,
 * and the lanes: the first one's connections, and more where the pass is large enough (lanes.ts lanesFor), logged
 * in before any folder starts so each takes its share. A lane that cannot log in is not needed.
 */
export async function openLanes(deps: EngineDeps, user: MigrationUser, log: Logger, sessions: ImapFlow[], closers: (() => void)[], first: Lane & { target: TargetSide },
  state: MigrationState, mappings: MappingPlan['mappings']): Promise<{ work: LaneWork[]; lanes: Lane[] }> {
  const expected = await expectedMessages((w) => first.reader.raw.status(w), state, user.address, mappings.map((m) => m.source));
  deps.onProgress?.({ type: 'estimate', address: user.address, messages: expected.total });
  const work = laneWork(mappings, expected.byFolder);
  const lanes: Lane[] = [first];
  const more = lanesFor(deps.folderLanes ?? deps.migration.foldersInParallel, deps.laneMinMessages, work, expected.total) - 1;
  for (const o of await Promise.allSettled(Array.from({ length: more }, () => openLane(deps, user, sessions, closers, first.target, deps.shareReader === false ? undefined : first.reader)))) {
    if (o.status === 'fulfilled') lanes.push(o.value);
    else logEvent(log, 'migration.lane.skipped', { reason: describeError(o.reason) }, undefined, deps.metrics);
  }
  return { work, lanes };
}

/** Logs in on both sides through imapflow (sessions are recorded for closing) and maps the folders: plan, verify and dry runs. */
export async function openBothSides(deps: EngineDeps, user: MigrationUser, sessions: ImapFlow[]) {
  const source = await openSide(deps, user, 'source');
  sessions.push(source);
  sourceSessions.add(source);
  const target = await openSide(deps, user, 'target');
  sessions.push(target);
  const info = targetInfo(await imapflowListing(target));
  const { plan } = planUserFolders(await imapflowListing(source), info, deps.migration);
  return { source, target, info, plan };
}
