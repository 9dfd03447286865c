import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from './login-limiter.js';

function setup() {
  const c = { t: 0 };
  const l = new LoginLimiter({ maxFailures: 3, windowMs: 60_000, now: () => c.t });
  return { c, l };
}

test('limited after maxFailures within the window; Retry-After until the oldest ages out', () => {
  const { c, l } = setup();
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(l.check(['ip:1']), { limited: false });
    l.fail(['ip:1']);
    c.t += 10_000;
  }
  assert.deepEqual(l.check(['ip:1']), { limited: true, retryAfterSec: 30 });
  c.t = 60_000;
  assert.deepEqual(l.check(['ip:1']), { limited: false }, 'first failure aged out');
});

test('any limited key limits; other keys are independent', () => {
  const { l } = setup();
  for (let i = 0; i < 3; i++) l.fail(['user:admin']);
  assert.equal(l.check(['ip:2', 'user:admin']).limited, true);
  assert.equal(l.check(['ip:2', 'user:other']).limited, false);
});

test('clear and forgive', () => {
  const { c, l } = setup();
  l.fail(['ip:1', 'user:a']);
  c.t += 1;
  const at = l.fail(['ip:1', 'user:a']);
  l.fail(['ip:1']);
  assert.equal(l.check(['ip:1']).limited, true);
  l.forgive('ip:1', at);
  assert.equal(l.check(['ip:1']).limited, false);
  l.clear('user:a');
  l.fail(['user:a']);
  l.fail(['user:a']);
  assert.equal(l.check(['user:a']).limited, false, 'cleared before: only two now');
});

test('memory stays bounded with random names', () => {
  const l = new LoginLimiter({ maxFailures: 3, windowMs: 60_000, maxKeys: 100 });
  for (let i = 0; i < 1000; i++) l.fail([`user:${i}`]);
  assert.equal(l.check(['user:999']).limited, false);
  assert.ok((l as unknown as { failures: Map<string, unknown> }).failures.size <= 100);
});
