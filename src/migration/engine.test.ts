import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDeps, type EngineDeps } from './engine.js';

// Only the fields runDeps reads; nothing here opens a connection or a database.
const base = { migration: {}, source: { name: 'legacy' }, target: { name: 'cloud' } } as unknown as EngineDeps;

test('runDeps: one user at a time keeps two APPEND connections', () => {
  const d = runDeps(base, 1, 1);
  assert.equal(d.appendConnections, undefined);
  assert.ok(d.limiter, 'a limiter for the run');
});

test('runDeps: several users at once take one APPEND connection each; the lane threshold is left to lanes.ts', () => {
  const d = runDeps(base, 8, 8);
  assert.equal(d.appendConnections, 1);
  assert.equal(d.laneMinMessages, undefined);
});

test('runDeps: what the caller set is kept', () => {
  const d = runDeps({ ...base, appendConnections: 3, laneMinMessages: 10 }, 8, 8);
  assert.equal(d.appendConnections, 3);
  assert.equal(d.laneMinMessages, 10);
});
