/**
 * Queue control: hold, release, retry, delete (optionally with a failure DSN),
 * flush. A running gateway owns its spool, so `mailbridge queue` drops a
 * request into spool/control/ and the gateway applies it before its next scan;
 * with no gateway running the command applies it directly (cli decides, by
 * the gateway's pid file).
 */
import { MbError } from '../core/index.js';
import { Spool, type QueuedMessage, type StateChange } from '../spool/index.js';
import { GatewayErrors } from './errors.js';

export type QueueOp = 'hold' | 'release' | 'retry' | 'delete' | 'flush';

export interface QueueSelector {
  id?: string;
  /** every message with this recipient still pending */
  to?: string;
  /** every message with a recipient whose last attempt went to this destination ("system:legacy", "external") */
  destination?: string;
}

export interface QueueCommand extends QueueSelector {
  op: QueueOp;
  /** delete: send a failure DSN for the pending recipients first */
  bounce?: boolean;
}

export function isQueueCommand(x: unknown): x is QueueCommand {
  const o = x as Partial<QueueCommand> | null;
  return typeof o === 'object' && o !== null && ['hold', 'release', 'retry', 'delete', 'flush'].includes(String(o.op));
}

export function selectMessages(spool: Spool, sel: QueueSelector): QueuedMessage[] {
  return spool.list().filter((m) => {
    if (sel.id !== undefined && m.id !== sel.id) return false;
    if (sel.to !== undefined) {
      const to = sel.to.toLowerCase();
      if (!m.envelope.recipients.some((r, i) => r.address.toLowerCase() === to && Spool.pending(m.recipients[i]!))) return false;
    }
    if (sel.destination !== undefined && !m.recipients.some((r) => r.destination === sel.destination && Spool.pending(r))) return false;
    return true;
  });
}

export interface QueueCommandResult {
  op: QueueOp;
  ids: string[];
}

/** Applies one command; `track` is told about each message it touched. */
export async function applyQueueCommand(
  spool: Spool, cmd: QueueCommand, track: (id: string, event: string) => void, now: () => number = Date.now,
): Promise<QueueCommandResult> {
  const sel: QueueSelector = cmd.op === 'flush' ? {} : cmd;
  if (cmd.op !== 'flush' && cmd.id === undefined && cmd.to === undefined && cmd.destination === undefined) {
    throw new MbError(GatewayErrors.GATEWAY_QUEUE_NOT_FOUND, `queue ${cmd.op}: give a queue id, --to or --destination`);
  }
  const msgs = selectMessages(spool, sel);
  if (cmd.id !== undefined && msgs.length === 0) {
    throw new MbError(GatewayErrors.GATEWAY_QUEUE_NOT_FOUND, `queue ${cmd.op}: no message ${cmd.id} in the queue`);
  }
  for (const m of msgs) {
    switch (cmd.op) {
      case 'hold':
        await spool.update(m.id, [{ op: 'hold' }]);
        break;
      case 'release':
        await spool.update(m.id, [{ op: 'release' }, { op: 'retry' }]);
        break;
      case 'retry':
      case 'flush':
        await spool.update(m.id, [{ op: 'retry' }]);
        break;
      case 'delete':
        if (cmd.bounce) {
          const at = now();
          const changes: StateChange[] = m.recipients.flatMap((r, index): StateChange[] => (Spool.pending(r)
            ? [{ op: 'rcpt', index, state: { status: 'bounced', lastReply: '554 5.0.0 Deleted from the queue by the administrator', updatedAt: at } }]
            : []));
          // Released so the engine picks it up, writes the DSN and removes it.
          await spool.update(m.id, [...changes, { op: 'release' }]);
        } else {
          await spool.remove(m.id);
        }
        break;
    }
    track(m.id, cmd.op === 'delete' ? (cmd.bounce ? 'deleted-bounced' : 'deleted') : cmd.op === 'hold' ? 'held' : cmd.op === 'release' ? 'released' : 'retry');
  }
  return { op: cmd.op, ids: msgs.map((m) => m.id) };
}
