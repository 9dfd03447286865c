/**
 * Opens a store in a process of its own and prints its migration version: the
 * store suite starts two of these at once on a fresh database to show that
 * concurrent first opens from different processes both migrate cleanly.
 * Usage: node --import tsx open-child.ts '<StoreOptions as JSON>'
 */
import { openStore, type StoreOptions } from '../../../src/store/index.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as StoreOptions;
const store = await openStore(opts);
try {
  await store.users.upsert({ address: `child-${process.pid}@example.com`, homeSystem: 'legacy' });
  process.stdout.write(await store.migrationVersion());
} finally {
  await store.close();
}
