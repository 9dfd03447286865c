/**
 * LDAP endpoint check: StartTLS when configured, simple bind (anonymous
 * without bindDn), the base DN must exist (base-scope search), the people
 * matching `filter` under it are counted with the paged-results control (RFC
 * 2696, pages of 500, so a count above the server's size limit still works),
 * and contactsDn must exist when set.
 */
import { Client } from 'ldapts';
import { isIP } from 'node:net';
import { remoteAnswer } from './errors.js';
import type { Probe } from './probe.js';
import type { CheckTarget } from './types.js';

type LdapConfig = NonNullable<CheckTarget['ldap']>;

export const LDAP_PAGE_SIZE = 500;

/** ldapts result errors carry the numeric LDAP result code (RFC 4511 section 4.1.9). */
function ldapResultCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Runs one LDAP operation; a result-code error becomes a remote answer naming what it was about. */
async function step<T>(p: Probe, waitingFor: string, what: string, subject: string | undefined, op: () => Promise<T>): Promise<T> {
  p.step(waitingFor);
  try {
    return await op();
  } catch (err) {
    const code = ldapResultCode(err);
    if (code === undefined) throw err;
    throw remoteAnswer({ protocol: 'ldap', step: what, status: code, text: (err as Error).message, ...(subject ? { subject } : {}) });
  }
}

export async function checkLdap(p: Probe, cfg: LdapConfig, insecure: boolean, timeoutMs: number): Promise<string> {
  const host = new URL(cfg.url).hostname;
  const tlsOptions = { rejectUnauthorized: !insecure, ...(isIP(host) === 0 && host ? { servername: host } : {}) };
  // The library's own timeouts are a backstop, a little longer than ours, so our
  // deadline (which knows what we were waiting for) normally speaks first.
  // ldapts treats any tlsOptions as "connect with TLS", so give them only to ldaps:// (StartTLS gets its own).
  const secure = cfg.url.toLowerCase().startsWith('ldaps:');
  const client = new Client({
    url: cfg.url, timeout: timeoutMs + 1000, connectTimeout: timeoutMs + 1000, ...(secure ? { tlsOptions } : {}),
  });
  p.onEnd(() => { client.unbind().catch(() => { /* already gone */ }); });
  const parts: string[] = [];

  if (cfg.startTls) {
    await step(p, 'the StartTLS answer', 'StartTLS', undefined, () => client.startTLS(tlsOptions));
    parts.push('StartTLS ok');
  }
  const who = cfg.bindDn ?? '';
  await step(p, 'the bind answer', 'bind', who || 'anonymous', () => client.bind(who, cfg.password?.reveal() ?? ''));
  parts.push(who ? `LDAP bind ok as ${who}` : 'LDAP anonymous bind ok');

  await mustExist(p, client, cfg.baseDn, 'base DN');
  parts.push(`base ${cfg.baseDn} found`);

  const count = await countMatches(p, client, cfg);
  p.details.count = count;
  parts.push(`${count} ${count === 1 ? 'person matches' : 'people match'} ${cfg.filter}`);

  if (cfg.contactsDn) {
    await mustExist(p, client, cfg.contactsDn, 'contacts DN');
    parts.push(`contacts ${cfg.contactsDn} found`);
  }
  await client.unbind().catch(() => { /* the check is done */ });
  return parts.join(', ');
}

async function mustExist(p: Probe, client: Client, dn: string, label: string): Promise<void> {
  const subject = `${label} ${dn}`;
  const r = await step(p, `the ${label} lookup`, `search ${label}`, subject, () =>
    client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }));
  if (r.searchEntries.length === 0) {
    // Some servers answer success with no entry when ACLs hide it.
    throw remoteAnswer({ protocol: 'ldap', step: `search ${label}`, status: 32, text: 'no entry returned', subject });
  }
}

async function countMatches(p: Probe, client: Client, cfg: LdapConfig): Promise<number> {
  let count = 0;
  let pages = 0;
  await step(p, 'the people count', 'search people', `people under ${cfg.baseDn}`, async () => {
    const pager = client.searchPaginated(cfg.baseDn, {
      scope: 'sub', filter: cfg.filter, attributes: ['1.1'], paged: { pageSize: LDAP_PAGE_SIZE },
    });
    for await (const page of pager) {
      count += page.searchEntries.length;
      pages++;
    }
  });
  p.details.pages = pages;
  return count;
}

/**
 * The `mail` of one person under baseDn matching the filter, for the IMAP admin
 * login's target (see imap.ts); undefined when there is none or LDAP does not
 * answer within `budgetMs` (the LDAP line reports LDAP's own problems).
 */
export async function firstMail(cfg: LdapConfig, insecure: boolean, budgetMs: number): Promise<string | undefined> {
  const secure = cfg.url.toLowerCase().startsWith('ldaps:');
  const client = new Client({
    url: cfg.url, timeout: budgetMs, connectTimeout: budgetMs, ...(secure ? { tlsOptions: { rejectUnauthorized: !insecure } } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  const lookup = async (): Promise<string | undefined> => {
    if (cfg.startTls) await client.startTLS({ rejectUnauthorized: !insecure });
    await client.bind(cfg.bindDn ?? '', cfg.password?.reveal() ?? '');
    const pager = client.searchPaginated(cfg.baseDn, {
      scope: 'sub', filter: `(&${wrapFilter(cfg.filter)}(mail=*))`, attributes: ['mail'], paged: { pageSize: 1 },
    });
    for await (const page of pager) {
      const mail = page.searchEntries.map((e) => e.mail).find((m) => m !== undefined);
      const first = Array.isArray(mail) ? mail[0] : mail;
      if (first !== undefined) return String(first);
      break;
    }
    return undefined;
  };
  try {
    return await Promise.race([
      lookup(),
      new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), budgetMs); }),
    ]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    client.unbind().catch(() => { /* gone */ });
  }
}

/** RFC 4515: a filter given without its outer parentheses ("objectClass=person") still composes. */
function wrapFilter(filter: string): string {
  const f = filter.trim();
  return f.startsWith('(') ? f : `(${f})`;
}
