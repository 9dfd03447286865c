/**
 * Who may ask for free/busy (issue 6: people inside the organization):
 * a bearer token (RFC 6750) and/or an allow-list of networks from
 * `web.freebusy`. With neither configured, only loopback clients are served,
 * so a fresh install does not publish everyone's availability. A token that is
 * sent must be right, whatever the network. The console's admin login does not
 * exist yet; when it lands, a console session is a third way in.
 */
import { BlockList, isIP } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Secret } from '../core/secret.js';

export interface FreeBusyAccessConfig {
  allowNetworks?: readonly string[];
  token?: Secret;
}

export type AccessDecision =
  | { ok: true; via: 'token' | 'network' | 'loopback' }
  | { ok: false; status: 401 | 403; reason: string; challenge?: string };

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

function blockList(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const n of networks) {
    const [ip = '', bits] = n.split('/');
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(ip, Number(bits ?? (family === 'ipv6' ? 128 : 32)), family);
  }
  return list;
}

/** "::ffff:10.1.2.3" (an IPv4 client on a dual-stack socket) is 10.1.2.3. */
function plainIp(ip: string): { ip: string; family: 'ipv4' | 'ipv6' } | undefined {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (v4) return { ip: v4, family: 'ipv4' };
  const f = isIP(ip);
  return f === 0 ? undefined : { ip, family: f === 6 ? 'ipv6' : 'ipv4' };
}

function sameSecret(a: string, b: string): boolean {
  // Hash first: timingSafeEqual needs equal lengths, and the length must not leak either.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function createAccessCheck(cfg: FreeBusyAccessConfig | undefined): (remoteIp: string, authorization: string | undefined) => AccessDecision {
  const token = cfg?.token;
  const networks = cfg?.allowNetworks ?? [];
  const loopbackOnly = !token && networks.length === 0;
  const allowed = blockList(loopbackOnly ? LOOPBACK : networks);
  const challenge = token ? 'Bearer realm="mailbridge free/busy"' : undefined;
  return (remoteIp, authorization) => {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (bearer !== undefined) {
      if (token && sameSecret(bearer, token.reveal())) return { ok: true, via: 'token' };
      return { ok: false, status: 401, reason: token ? 'wrong bearer token' : 'no bearer token is configured (web.freebusy.token)', ...(challenge ? { challenge } : {}) };
    }
    const ip = plainIp(remoteIp);
    if (ip && allowed.check(ip.ip, ip.family)) return { ok: true, via: loopbackOnly ? 'loopback' : 'network' };
    if (token) return { ok: false, status: 401, reason: 'a bearer token is required from this network', challenge: challenge! };
    return {
      ok: false, status: 403,
      reason: loopbackOnly ? 'only loopback clients may ask until web.freebusy.allowNetworks or web.freebusy.token is configured' : 'this network is not in web.freebusy.allowNetworks',
    };
  };
}
