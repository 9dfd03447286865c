/**
 * How many messages a pass expects to copy, for the ETA of `migrate run`: per
 * source folder STATUS (MESSAGES UIDNEXT UIDVALIDITY), one round trip each. A
 * folder with stored state and the same UIDVALIDITY expects at most the UIDs
 * above the highest one done; any other folder all its messages. An upper bound
 * (\\Deleted messages are skipped, flags-only changes are not counted).
 */
import type { ImapFlow } from 'imapflow';
import { clientPath } from './folders.js';
import type { MigrationState } from './state.js';

export function expectedInFolder(status: { messages?: number; uidNext?: number; uidValidity?: bigint },
  stored: { uid_validity: number; highest_uid: number } | undefined): number {
  const total = status.messages ?? 0;
  if (!stored || status.uidValidity === undefined || BigInt(stored.uid_validity) !== status.uidValidity || status.uidNext === undefined) return total;
  return Math.max(0, Math.min(total, status.uidNext - 1 - stored.highest_uid));
}

export async function expectedMessages(source: ImapFlow, state: MigrationState, address: string, wires: readonly string[]): Promise<number> {
  let n = 0;
  for (const wire of new Set(wires)) {
    try {
      const st = await source.status(clientPath(wire), { messages: true, uidNext: true, uidValidity: true });
      if (st) n += expectedInFolder(st, await state.folder(address, wire));
    } catch {
      // A folder that refuses STATUS adds nothing to the estimate; the copy reports it.
    }
  }
  return n;
}
