import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueuedMessage, RecipientState } from '../spool/index.js';
import { queueByDestination } from './queue-stats.js';

const r = (status: RecipientState['status'], destination?: string): RecipientState => ({ status, attempts: destination ? 1 : 0, nextAttempt: 0, updatedAt: 0, ...(destination ? { destination } : {}) });
const msg = (id: string, receivedAt: number, recipients: RecipientState[], held = false): QueuedMessage =>
  ({ id, receivedAt, size: 10, held, envelope: { from: 'a@x', recipients: recipients.map((_, i) => ({ address: `r${i}@x` })), source: { kind: 'smtp' } }, recipients });

test('queue per destination: pending recipients only, held apart, oldest first', () => {
  const rows = queueByDestination([
    msg('1', 1000, [r('deferred', 'system:cloud'), r('delivered', 'system:legacy')]),
    msg('2', 5000, [r('deferred', 'system:cloud'), r('deferred', 'system:cloud')]),
    msg('3', 9000, [r('queued')]),
    msg('4', 500, [r('deferred', 'external')], true),
    msg('5', 0, [r('bounced', 'system:cloud')]),
  ], 10_000);
  assert.deepEqual(rows, [
    { destination: 'held', messages: 1, recipients: 1, oldestAgeMs: 9500 },
    { destination: 'cloud', messages: 2, recipients: 3, oldestAgeMs: 9000 },
    { destination: 'new', messages: 1, recipients: 1, oldestAgeMs: 1000 },
  ]);
  assert.deepEqual(queueByDestination([], 1), []);
});
