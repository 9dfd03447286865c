import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../core/secret.js';
import { createAccessCheck } from './freebusy-access.js';
import { wantsJson } from './freebusy-routes.js';

describe('free/busy access', () => {
  it('serves only loopback when nothing is configured', () => {
    const check = createAccessCheck(undefined);
    assert.equal(check('127.0.0.1', undefined).ok, true);
    assert.equal(check('::1', undefined).ok, true);
    assert.equal(check('::ffff:127.0.0.1', undefined).ok, true);
    const d = check('10.0.0.5', undefined);
    assert.equal(!d.ok && d.status, 403);
  });
  it('allows listed networks, IPv4-mapped clients included', () => {
    const check = createAccessCheck({ allowNetworks: ['10.0.0.0/8', 'fd00::/8'] });
    assert.equal(check('10.2.3.4', undefined).ok, true);
    assert.equal(check('::ffff:10.2.3.4', undefined).ok, true);
    assert.equal(check('fd12::1', undefined).ok, true);
    assert.equal(check('192.168.1.1', undefined).ok, false);
    assert.equal(check('127.0.0.1', undefined).ok, false);
  });
  it('takes the right token from anywhere and refuses a wrong one everywhere', () => {
    const check = createAccessCheck({ allowNetworks: ['10.0.0.0/8'], token: new Secret('s3cret') });
    assert.deepEqual(check('192.168.1.1', 'Bearer s3cret'), { ok: true, via: 'token' });
    const wrong = check('10.1.1.1', 'Bearer nope');
    assert.equal(!wrong.ok && wrong.status, 401);
    const none = check('192.168.1.1', undefined);
    assert.equal(!none.ok && none.status, 401);
    assert.match(!none.ok ? none.challenge ?? '' : '', /^Bearer/);
  });
});

describe('wantsJson', () => {
  it('follows the order of Accept', () => {
    assert.equal(wantsJson('application/json', false), true);
    assert.equal(wantsJson('text/calendar, application/json', false), false);
    assert.equal(wantsJson('application/json;q=1, text/calendar', false), true);
    assert.equal(wantsJson('*/*', false), false);
    assert.equal(wantsJson(undefined, true), true);
  });
});
