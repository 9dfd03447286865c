/** Unit tests of the hold set and the store-backed gate (in-memory SQLite, fake clock). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../observe/index.js';
import { openStore } from '../store/index.js';
import { HoldSet, StoreHoldGate, HEARTBEAT_MS } from './holds.js';

test('HoldSet: primary addresses, aliases, case and +tags; nothing else', () => {
  const s = new HoldSet();
  assert.equal(s.has('ann@example.com'), false);
  s.replace(3, ['ann@example.com', 'Sales@Example.com']);
  assert.equal(s.version, 3);
  for (const a of ['ann@example.com', 'ANN@example.com', 'ann+news@example.com', 'sales@example.com']) assert.equal(s.has(a), true, a);
  for (const a of ['bob@example.com', 'anne@example.com', 'ann@example.org', '+ann@example.com']) assert.equal(s.has(a), false, a);
});

test('StoreHoldGate: loads a new version, acknowledges only with nothing held in flight, heartbeats', async () => {
  let t = 5_000_000;
  const store = await openStore({ sqlite: ':memory:', now: () => t });
  await store.users.upsert({ address: 'ann@example.com', homeSystem: 'legacy', aliases: ['a@example.com'] });
  const gate = new StoreHoldGate(store, 'gw1', silentLogger(), () => t);
  await gate.refresh(() => false);
  assert.deepEqual((await store.cutover.nodes()).map((n) => [n.node, n.holdVersionSeen]), [['gw1', 0]]);

  const v = await store.cutover.addHold('ann@example.com', 'test', null);
  let sending = ['a@example.com']; // a delivery to ann's alias is in flight
  await gate.refresh((held) => sending.some(held));
  assert.equal(gate.isHeld('a@example.com'), true, 'aliases are held too');
  assert.equal(gate.isHeld('bob@example.com'), false);
  assert.equal((await store.cutover.nodes())[0]!.holdVersionSeen, 0, 'no ack while a held address is in flight');
  sending = ['bob@example.com'];
  await gate.refresh((held) => sending.some(held));
  assert.equal((await store.cutover.nodes())[0]!.holdVersionSeen, v, 'acknowledged once nothing held is in flight');

  const beat = (await store.cutover.nodes())[0]!.heartbeatAt;
  t += HEARTBEAT_MS;
  await gate.refresh(() => false);
  assert.ok((await store.cutover.nodes())[0]!.heartbeatAt > beat, 'heartbeat without a new version');

  const v2 = await store.cutover.removeHold('ann@example.com');
  await gate.refresh(() => false);
  assert.equal(gate.isHeld('ann@example.com'), false);
  assert.equal((await store.cutover.nodes())[0]!.holdVersionSeen, v2);
  await store.close();
});
