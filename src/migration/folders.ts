/**
 * Folders of one user: the plan from both sides' listings (listing.ts: wire names, delimiter, RFC 6154
 * attributes, subscriptions) with protocol/imap's planFolders, and the target side made to exist (create,
 * subscribe). imapflow takes and returns UTF-8 paths and encodes them itself (modified UTF-7, RFC 3501 5.1.3), so
 * wire names from the plan are decoded before they are handed to it.
 */
import type { ImapFlow } from 'imapflow';
import { MbError, settleAll } from '../core/index.js';
import type { MigrationConfig } from '../config/index.js';
import { decodeMutf7, planFolders, type MappingPlan, type SourceFolder, type SpecialUse } from '../protocol/imap/index.js';
import { MigrationErrors } from './errors.js';
import type { ListedFolder, Listing, Namespace } from './listing.js';

/** The UTF-8 path imapflow wants for a wire name (a name that is not valid mUTF-7 goes as it is). */
export function clientPath(wire: string): string {
  const d = decodeMutf7(wire);
  return d.ok ? d.value : wire;
}

export function toSourceFolders(list: readonly ListedFolder[]): SourceFolder[] {
  return list.map((f) => ({
    path: f.wire,
    delimiter: f.delimiter,
    ...(f.specialUse ? { specialUse: f.specialUse } : {}),
    flags: [...f.flags],
    subscribed: f.subscribed,
  }));
}

export interface TargetInfo {
  delimiter: string;
  /** The target's personal namespace prefix ("" or e.g. "INBOX."). */
  prefix: string;
  specialUse: Partial<Record<SpecialUse, string>>;
  /** Wire names that exist on the target. */
  existing: Set<string>;
  subscribed: Set<string>;
}

/** Component count of a wire name: for a use announced on several folders the shallowest wins (then by name), as imapflow has it. */
const depth = (f: ListedFolder) => (f.delimiter ? f.wire.split(f.delimiter).length : 1);

export function targetInfo(listing: Listing): TargetInfo {
  const list = listing.folders;
  const specialUse: Partial<Record<SpecialUse, string>> = {};
  const announced = list.filter((f) => f.specialUse).sort((a, b) => depth(a) - depth(b) || (a.wire < b.wire ? -1 : a.wire > b.wire ? 1 : 0));
  for (const f of announced) specialUse[f.specialUse!] ??= f.wire;
  const inbox = list.find((f) => f.wire.toUpperCase() === 'INBOX');
  const ns = listing.namespace;
  return {
    delimiter: ns?.delimiter ?? inbox?.delimiter ?? list[0]?.delimiter ?? '/',
    prefix: ns?.prefix ?? '',
    specialUse,
    existing: new Set(list.map((f) => f.wire)),
    subscribed: new Set(list.filter((f) => f.subscribed).map((f) => f.wire)),
  };
}

export interface UserFolders {
  plan: MappingPlan;
  sourceDelimiter: string | null;
  sourcePrefix: string;
}

export function planUserFolders(source: Listing, target: TargetInfo, cfg: MigrationConfig): UserFolders {
  return planFromList(toSourceFolders(source.folders), source.namespace, target, cfg);
}

/** The mapping from a listed source, its namespace and the target (pure: unit-tested with a fake NAMESPACE answer). */
export function planFromList(folders: SourceFolder[], ns: Namespace | undefined, target: TargetInfo, cfg: MigrationConfig): UserFolders {
  const sourceDelimiter = ns?.delimiter ?? folders.find((f) => f.delimiter)?.delimiter ?? null;
  const sourcePrefix = ns?.prefix ?? '';
  const plan = planFolders(folders, {
    sourceDelimiter,
    sourcePrefix,
    targetDelimiter: target.delimiter,
    targetPrefix: target.prefix,
    targetSpecialUse: target.specialUse,
    ...(cfg.folders?.rules ? { rules: cfg.folders.rules.map((r) => ({ from: r.from, to: r.to })) } : {}),
    ...(cfg.folders?.include ? { include: [...cfg.folders.include] } : {}),
    ...(cfg.folders?.exclude ? { exclude: [...cfg.folders.exclude] } : {}),
  });
  return { plan, sourceDelimiter, sourcePrefix };
}

/** CREATE and SUBSCRIBE of wire (modified UTF-7) names: on the pipelined APPEND connection where there is one. */
export interface FolderMaker {
  /** Resolves when the folder exists (also when it already did); throws when the server refuses. */
  create(wire: string): Promise<void>;
  /** Best effort, as imapflow's: a refusal is not an error. */
  subscribe(wire: string): Promise<void>;
}

/** The same through imapflow (a target without LITERAL+, or a name that cannot be sent as a quoted string). */
export function imapflowMaker(target: ImapFlow): FolderMaker {
  return {
    create: async (wire) => { await target.mailboxCreate(clientPath(wire)); },
    subscribe: async (wire) => { await target.mailboxSubscribe(clientPath(wire)); },
  };
}

/**
 * On a pipelined APPEND connection (appender.ts): no imapflow round trips for the 2 x N folder commands of a
 * user's first pass. A name that cannot go as a quoted string (CR, LF or NUL) goes through `fallback`.
 * CREATE answered NO [ALREADYEXISTS] (RFC 5530) counts as done: another process made it meanwhile.
 */
export function pipelinedMaker(conn: { mailboxCommand(verb: 'CREATE' | 'SUBSCRIBE', wire: string): Promise<string> }, fallback: FolderMaker): FolderMaker {
  const unquotable = (wire: string) => /[\r\n\0]/.test(wire);
  return {
    create: async (wire) => {
      if (unquotable(wire)) return fallback.create(wire);
      const answer = await conn.mailboxCommand('CREATE', wire);
      if (!/^OK\b/i.test(answer) && !/\[ALREADYEXISTS\]/i.test(answer)) throw new Error(answer.split(/\r?\n/)[0]);
    },
    subscribe: async (wire) => {
      if (unquotable(wire)) return fallback.subscribe(wire);
      await conn.mailboxCommand('SUBSCRIBE', wire);
    },
  };
}

/**
 * Makes the plan's target folders exist and subscribes them. The commands go out together (pipelined on the
 * APPEND connection) one level of the hierarchy at a time: parents first, so "A/B" exists before "A/B/C" is
 * created on servers that do not create parents, and no server that runs pipelined commands at once (RFC 3501
 * 5.5) sees a child before its parent. A user's first pass then waits one round trip per level, not two per
 * folder: under load each round trip costs tens of milliseconds (bench/RESULTS.md, session 8).
 */
export async function ensureTargetFolders(target: FolderMaker, info: TargetInfo, plan: MappingPlan): Promise<void> {
  const wanted = [...new Set(plan.mappings.map((m) => m.target))].filter((w) => !info.existing.has(w) && w.toUpperCase() !== 'INBOX');
  const level = (wire: string) => (info.delimiter ? wire.split(info.delimiter).length : 1);
  const levels = [...new Set(wanted.map(level))].sort((a, b) => a - b);
  for (const l of levels) {
    await settleAll(wanted.filter((w) => level(w) === l).map(async (wire) => {
      try {
        await target.create(wire);
      } catch (err) {
        throw new MbError(MigrationErrors.MIGRATION_FOLDER_FAILED, `target folder ${clientPath(wire)} could not be created`, { cause: err });
      }
      info.existing.add(wire);
    }));
  }
  const subscribe = [...new Set(plan.mappings.filter((m) => m.subscribed).map((m) => m.target))].filter((w) => !info.subscribed.has(w));
  await settleAll(subscribe.map(async (wire) => {
    await target.subscribe(wire);
    info.subscribed.add(wire);
  }));
}

