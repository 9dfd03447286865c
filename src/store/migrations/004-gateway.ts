/**
 * The gateway's message tracking (issue 4): one row per event of a message
 * (received, delivered, deferred, bounced, held, released, deleted, DSN), kept
 * for gateway.trackingRetention and searched by `mailbridge track`. The queue
 * itself lives in each node's spool folder, not here (DESIGN.md: one spool per
 * gateway node); this table is shared, so a search covers every node.
 */
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('gateway_tracking')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('queue_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text')
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('destination', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('gateway_tracking_at').on('gateway_tracking').column('at').execute();
  await db.schema.createIndex('gateway_tracking_queue').on('gateway_tracking').columns(['queue_id', 'at']).execute();
  await db.schema.createIndex('gateway_tracking_message').on('gateway_tracking').columns(['message_id', 'at']).execute();
  await db.schema.createIndex('gateway_tracking_sender').on('gateway_tracking').columns(['sender', 'at']).execute();
  await db.schema.createIndex('gateway_tracking_recipient').on('gateway_tracking').columns(['recipient', 'at']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('gateway_tracking').execute();
}
