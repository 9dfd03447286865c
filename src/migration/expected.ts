/**
 * How many messages a pass expects to copy, for the ETA of `migrate run`: per
 * source folder STATUS (MESSAGES UIDNEXT UIDVALIDITY), one round trip each. A
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

/** `status`: STATUS of a source folder by wire name (the reader's, raw-imap.ts), undefined when refused. */
export async function expectedMessages(status: (wire: string) => Promise<FolderStatus | undefined>, state: MigrationState, address: string,
  wires: readonly string[]): Promise<number> {
  let n = 0;
  for (const wire of new Set(wires)) {
    try {
      const st = await status(wire);
      if (st) n += expectedInFolder(st, await state.folder(address, wire));
    } catch (err) {
      // A folder that refuses STATUS adds nothing to the estimate; the copy reports it. A lost connection is the pass's.
      if (MbError.is(err) && err.retry === 'transient') throw err;
    }
  }
  return n;
}
