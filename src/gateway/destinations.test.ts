import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../config/index.js';
import { destinationsFor } from './gateway.js';

const yaml = (extra: { legacy?: string; external?: string }): string => `organization: T
domains: [example.com]
systems:
  legacy: { smtp: { host: 127.0.0.1, port: 2401${extra.legacy ?? ''} } }
  cloud: { smtp: { host: 127.0.0.1, port: 2402, protocol: lmtp } }
gateway:
  listen: [{ host: 127.0.0.1, port: 2525 }]
  external: { host: 127.0.0.1, port: 2403${extra.external ?? ''} }
`;

test('per-destination concurrency comes from systems.*.smtp.concurrency and gateway.external.concurrency, default 10', () => {
  const c = parseConfig(yaml({ legacy: ', concurrency: 3', external: ', concurrency: 25' }), '/t/m.yaml', {});
  const d = destinationsFor(c.gateway!, c.systems);
  assert.equal(d('system:legacy')?.concurrency, 3);
  assert.equal(d('system:cloud')?.concurrency, 10);
  assert.equal(d('external')?.concurrency, 25);
  const dflt = parseConfig(yaml({}), '/t/m.yaml', {});
  assert.equal(destinationsFor(dflt.gateway!, dflt.systems)('external')?.concurrency, 10);
});

test('a concurrency of 0 is a config error naming the key', () => {
  assert.throws(() => parseConfig(yaml({ legacy: ', concurrency: 0' }), '/t/m.yaml', {}), (err: unknown) => /systems\.legacy\.smtp\.concurrency/.test(JSON.stringify(err) + String(err)));
});
