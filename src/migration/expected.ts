/**
 * How many messages a pass expects to copy, for the ETA of `migrate run` and to decide whether folders are
 * copied in parallel (engine.ts): per source folder STATUS (MESSAGES UIDNEXT UIDVALIDITY). A
 * folder with stored state and the same UIDVALIDITY expects at most the UIDs
 * above the highest one done; any other folder all its messages. An upper bound
 * (\\Deleted messages are skipped, flags-only changes are not counted).
 */
import { MbError } from '../core/index.js';
import type { MigrationState } from './state.js';

export interface FolderStatus { messages?: number; uidNext?: number; uidValidity?: bigint | number }

export function expectedInFolder(status: FolderStatus, stored: { uid_validity: number; highest_uid: number } | undefined): number {
  const total = status.messages ?? 0;
  if (!stored || status.uidValidity === undefined || BigInt(stored.uid_validity) !== BigInt(status.uidValidity) || status.uidNext === undefined) return total;
  return Math.max(0, Math.min(total, status.uidNext - 1 - stored.highest_uid));
}

/**
 * Expected messages per source folder (wire name), and their sum. `status`: STATUS of a source folder by wire
 * name (the reader's, raw-imap.ts), undefined when refused; the STATUS commands go out at once (the reader
 * pipelines them), so a user with many folders costs one round trip, not one per folder.
 */
export async function expectedMessages(status: (wire: string) => Promise<FolderStatus | undefined>, state: MigrationState, address: string,
  wires: readonly string[]): Promise<{ total: number; byFolder: Map<string, number> }> {
  const unique = [...new Set(wires)];
  const answers = await Promise.allSettled(unique.map((w) => status(w)));
  const byFolder = new Map<string, number>();
  let total = 0;
  for (const [i, wire] of unique.entries()) {
    const a = answers[i]!;
    if (a.status === 'rejected') {
      // A folder that refuses STATUS adds nothing to the estimate; the copy reports it. A lost connection is the pass's.
      if (MbError.is(a.reason) && a.reason.retry === 'transient') throw a.reason;
      continue;
    }
    if (!a.value) continue;
    const n = expectedInFolder(a.value, await state.folder(address, wire));
    byFolder.set(wire, n);
    total += n;
  }
  return { total, byFolder };
}
