/**
 * The LDAP probe: bind as the configured account and read the base entry of
 * the system's people (a base-scope search returns one entry or an error), so a
 * slapd that is down, a changed password or a vanished base DN each turn the
 * light red with their own reason.
 */
import { Client } from 'ldapts';
import type { LdapEndpoint } from '../config/index.js';
import { ProbeErrors, ProbeFailure, shortReason } from './errors.js';

export async function probeLdap(cfg: LdapEndpoint, insecure: boolean, timeoutMs: number): Promise<{ latencyMs: number; detail: string }> {
  const secure = cfg.url.toLowerCase().startsWith('ldaps:');
  const client = new Client({ url: cfg.url, timeout: timeoutMs, connectTimeout: timeoutMs, ...(secure ? { tlsOptions: { rejectUnauthorized: !insecure } } : {}) });
  const t0 = performance.now();
  let step = 'connect';
  let timer: NodeJS.Timeout | undefined;
  const work = async (): Promise<number> => {
    if (cfg.startTls) {
      step = 'StartTLS';
      await client.startTLS({ rejectUnauthorized: !insecure });
    }
    step = 'bind';
    await client.bind(cfg.bindDn ?? '', cfg.password?.reveal() ?? '');
    step = `base search of ${cfg.baseDn}`;
    const r = await client.search(cfg.baseDn, { scope: 'base', attributes: ['1.1'], sizeLimit: 1 });
    return r.searchEntries.length;
  };
  try {
    const n = await Promise.race([
      work(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs); }),
    ]);
    const latencyMs = Math.round(performance.now() - t0);
    if (n !== 1) throw new ProbeFailure(ProbeErrors.PROBE_LDAP_FAILED, `${cfg.url}: base entry ${cfg.baseDn} not found`);
    return { latencyMs, detail: `bound and read ${cfg.baseDn} in ${latencyMs} ms` };
  } catch (err) {
    if (err instanceof ProbeFailure) throw err;
    throw new ProbeFailure(ProbeErrors.PROBE_LDAP_FAILED, `${cfg.url}: ${step} failed: ${shortReason(err)}`);
  } finally {
    clearTimeout(timer);
    client.unbind().catch(() => undefined);
  }
}
