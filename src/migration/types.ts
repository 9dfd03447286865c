/** The migration engine's values: who is migrated, with which logins, and what a pass reports. */
import type { Secret } from '../core/index.js';

/** One side's login for one user when no admin (master) login is configured, from the users CSV. */
export interface UserLogin {
  user: string;
  password: Secret;
}

export interface MigrationUser {
  /** Lower-case address; also the login name when an admin login is used. */
  address: string;
  source?: UserLogin;
  target?: UserLogin;
}

export interface FolderCounts {
  /** Messages found on the source in this pass (not \Deleted-skipped). */
  seen: number;
  appended: number;
  appendedBytes: number;
  /** Found on the target by content (reconcile, crash recovery): not appended again. */
  matched: number;
  flagsUpdated: number;
  deletedOnTarget: number;
  skippedDeleted: number;
  refused: number;
}

export interface Refusal {
  folder: string;
  uid: number;
  size: number;
  reason: string;
}

/** Keywords of one message that are not IMAP atoms (a server accepted them, the target's APPEND cannot carry them). */
export interface DroppedKeywords {
  folder: string;
  uid: number;
  keywords: string[];
}

export interface FolderReport extends FolderCounts {
  source: string;
  target: string;
  /** 'copy' first pass, 'delta' with state, 'reconcile' state lost or UIDVALIDITY changed. */
  mode: 'copy' | 'delta' | 'reconcile';
  merged?: boolean;
}

export interface UserPassReport {
  address: string;
  ok: boolean;
  dryRun: boolean;
  folders: FolderReport[];
  totals: FolderCounts;
  refusals: Refusal[];
  /** Messages copied without some of their keywords, each with the keywords left out (never silently). */
  droppedKeywords?: DroppedKeywords[];
  merges: { target: string; sources: string[] }[];
  collisions: { target: string; sources: string[] }[];
  error?: { code: string; message: string; unreachable: boolean };
  /** Reconnects after a dropped connection or throttling. */
  retries?: number;
  /**
   * Another worker held the user's lease: nothing was copied. migrate run
   * (migrateUsers) reports it ok (not failed) with error MIGRATION_USER_BUSY
   * saying "busy on another node"; a single migrateUser (cutover) reports it as
   * not ok, since its pass did not happen.
   */
  busy?: { owner: string; expires: string | null };
  ms: number;
}

export function emptyCounts(): FolderCounts {
  return { seen: 0, appended: 0, appendedBytes: 0, matched: 0, flagsUpdated: 0, deletedOnTarget: 0, skippedDeleted: 0, refused: 0 };
}

export function addCounts(into: FolderCounts, c: FolderCounts): void {
  for (const k of Object.keys(into) as (keyof FolderCounts)[]) into[k] += c[k];
}

/** Progress events the engine emits; the CLI turns them into bars or JSON lines. */
export type ProgressEvent =
  | { type: 'user-start'; address: string }
  /** Messages the pass expects to copy (new on the source since the stored state): the base of the ETA. */
  | { type: 'estimate'; address: string; messages: number }
  /** A server throttled us: the concurrency used for it from now on. */
  | { type: 'throttled'; address: string; system: string; concurrency: number; waitMs: number }
  | { type: 'folder'; address: string; folder: string; target: string; total: number }
  | { type: 'messages'; address: string; folder: string; messages: number; bytes: number }
  | { type: 'user-end'; address: string; ok: boolean; report: UserPassReport };
