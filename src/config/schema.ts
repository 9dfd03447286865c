/**
 * The whole configuration contract (DESIGN.md, "Configuration file") as one
 * zod schema. Defaults live here and nowhere else. Every object is strict:
 * an unknown key is a mistake the administrator wants to hear about.
 *
 * The schema is built per load from a SchemaContext (config folder, env, a
 * file reader) because secrets and relative paths resolve while parsing;
 * that keeps every problem, including "env var not set", on its key path.
 */
import { z } from 'zod';
import {
  address, cidr, doc, domain, duration, host, int, path, port, postgresUrl, regex, secret, size, text, url,
  type SchemaContext,
} from './fields.js';
import { crossCheck } from './cross-check.js';
import type { ConfigBody } from './types.js';
import { parseSchedule } from './schedule.js';

const SYSTEM_NAME = /^[a-z][a-z0-9_-]*$/;
const tlsMode = (what: string) =>
  doc(z.enum(['none', 'starttls', 'implicit']).default('none'), `TLS towards ${what}: none, starttls, or implicit (TLS from the first byte)`);

function exclusive(keys: readonly string[], why: string) {
  return (value: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
    const given = keys.filter((k) => value[k] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({ code: 'custom', path: [given[1]!], message: `give only one of ${given.join(', ')} (${why})` });
    }
  };
}

function systemSchema(ctx: SchemaContext) {
  const smtp = z.strictObject({
    host: host('host of the system\'s mail server for deliveries from the gateway'),
    port: port('its SMTP or LMTP port'),
    protocol: doc(z.enum(['smtp', 'lmtp']).default('smtp'), 'smtp or lmtp (e.g. Dovecot LMTP)'),
    tls: tlsMode('this server'),
    maxMessageSize: size('largest message this server accepts; bigger ones are bounced before delivery').optional(),
    concurrency: int('connections the gateway opens to this server at once', 1, 1000).default(10),
  });
  const imap = z.strictObject({
    host: host('IMAP server (migration source or target)'),
    port: port('IMAP port'),
    tls: tlsMode('the IMAP server'),
    admin: z.strictObject({
      user: text('admin (master) user'),
      password: secret(ctx, 'its password'),
      mode: doc(z.enum(['master', 'authzid']).default('master'),
        'master: log in as "<user>*<admin>" (Dovecot master user); authzid: SASL PLAIN with the user as authorization identity'),
    }).optional(),
    appendLimit: size('largest message the server accepts in APPEND').optional(),
  });
  const ldap = z.strictObject({
    url: url('directory server', ['ldap', 'ldaps']),
    bindDn: text('DN to bind as (anonymous when omitted)').optional(),
    password: secret(ctx, 'bind password').optional(),
    baseDn: text('where the people of this system are'),
    filter: doc(z.string().regex(/^\(.*\)$/s, { error: 'expected an LDAP filter in parentheses, like (objectClass=inetOrgPerson)' })
      .default('(objectClass=inetOrgPerson)'), 'LDAP filter selecting people'),
    contactsDn: text('where contacts for the other systems\' people are created').optional(),
    startTls: doc(z.boolean().default(false), 'use StartTLS on an ldap:// URL'),
    flavor: doc(z.enum(['openldap', 'ad', 'domino']).default('openldap'), 'directory product: openldap, ad (Active Directory) or domino'),
    attributes: doc(z.record(z.string(), z.string()), 'attribute name overrides: our name -> the directory\'s').optional(),
  }).superRefine((v, zc) => {
    if (v.password !== undefined && v.bindDn === undefined) {
      zc.addIssue({ code: 'custom', path: ['bindDn'], message: 'a password is given, so bindDn is required' });
    }
  });
  const caldav = z.strictObject({
    url: url('CalDAV server', ['http', 'https']),
    user: text('user for the CalDAV server').optional(),
    password: secret(ctx, 'its password').optional(),
    home: doc(z.string().min(1).default('{local}/'), 'a person\'s calendar home under url; placeholders {address} {local} {domain}'),
  });
  return z.strictObject({
    smtp: smtp.optional(),
    imap: imap.optional(),
    ldap: ldap.optional(),
    users: path(ctx, 'CSV file of people instead of LDAP: address,name,aliases').optional(),
    ldif: path(ctx, 'LDIF file of people instead of LDAP').optional(),
    caldav: caldav.optional(),
    freebusyUrl: url('published free/busy (.vfb/.ics) instead of CalDAV, with {address} {local} {domain}', ['http', 'https']).optional(),
    tlsInsecure: doc(z.boolean(), 'accept self-signed or unverifiable certificates from this system').optional(),
  })
    .superRefine(exclusive(['ldap', 'users', 'ldif'], 'one directory source per system'))
    .superRefine(exclusive(['caldav', 'freebusyUrl'], 'one free/busy source per system'));
}

const listen = (what: string) => z.strictObject({ host: host(`address ${what} listens on`), port: port('its port') });

function gatewaySchema(ctx: SchemaContext) {
  return z.strictObject({
    listen: doc(z.array(listen('the SMTP gateway')).min(1), 'SMTP listeners'),
    spool: path(ctx, 'durable queue folder').prefault('./var/spool'),
    relayNetworks: doc(z.array(cidr('network')).default(['127.0.0.0/8', '::1/128']),
      'networks allowed to relay to domains outside the shared space (CIDR)'),
    maxMessageSize: size('largest message accepted (SIZE)').prefault('25MB'),
    hopLimit: int('Received headers after which a message is a loop', 1, 1000).default(50),
    greetPause: doc(duration('wait before the 220 greeting', { allowZero: true }).prefault('0s'),
      'pause before the 220 greeting; a client that talks before it gets 421 (like Sendmail\'s greet_pause or Postfix\'s postscreen_greet_wait). 0 greets at once, as Postfix\'s smtpd does'),
    retry: z.strictObject({
      schedule: doc(z.array(duration('delay')).min(1).prefault(['1m', '5m', '15m', '30m', '1h']),
        'delays between delivery attempts; the last repeats'),
      maxAge: duration('bounce after this long in the queue').prefault('5d'),
      warnAfter: duration('send a delay notification after this long').prefault('4h'),
    }).prefault({}),
    external: z.strictObject({
      host: host('smarthost for domains outside the shared space'),
      port: port('its port'),
      tls: tlsMode('the smarthost'),
      concurrency: int('connections the gateway opens to the smarthost at once', 1, 1000).default(10),
    }).optional(),
    routing: z.strictObject({
      mode: doc(z.enum(['central', 'chaining', 'selective']).default('central'), 'how mail for the shared domains is routed'),
      overflowSystem: text('system that gets mail for addresses no system knows').optional(),
      routingDomains: doc(z.record(z.string(), domain('domain')), 'per system, the routing domain to address its mailboxes by', { keyName: 'system' }).optional(),
    }).prefault({}),
    tls: z.strictObject({
      cert: path(ctx, 'certificate (PEM) for STARTTLS'),
      key: path(ctx, 'its private key (PEM)'),
    }).optional(),
    auth: z.strictObject({
      users: doc(z.array(z.strictObject({
        name: text('login name'),
        passwordHash: doc(z.string().refine((h) => /^scrypt\$\S+$/.test(h), {
          // Never echo it: people paste a plain password here.
          error: 'is not a scrypt hash (it must start with "scrypt$"; make one with `mailbridge passwd`)',
        }), 'from `mailbridge passwd`'),
      })).min(1).superRefine((users, zc) => {
        users.forEach((u, i) => {
          if (users.findIndex((o) => o.name === u.name) < i) {
            zc.addIssue({ code: 'custom', path: [i, 'name'], message: `user ${JSON.stringify(u.name)} is listed twice` });
          }
        });
      }), 'accounts that may log in (AUTH PLAIN or LOGIN, offered only after STARTTLS, so gateway.tls is needed) to submit and relay'),
    }).optional(),
    pickup: path(ctx, 'folder watched for .eml files to send').optional(),
    trackingRetention: duration('how long message tracking is kept').prefault('30d'),
    hostname: domain('name in the greeting and Received headers (default: the machine\'s)').optional(),
  });
}

function migrationSchema(ctx: SchemaContext) {
  return z.strictObject({
    from: text('source system (a name under systems)'),
    to: text('target system (a name under systems)'),
    users: path(ctx, 'CSV: address[,source_user,source_password,target_user,target_password]').optional(),
    concurrency: int('mailboxes copied in parallel', 1, 256).default(4),
    foldersInParallel: int('folders of one user copied at once, each on a target connection of its own (they take turns on one source connection), when a pass copies 1,000 messages or more (default 2); 1 keeps one APPEND connection per user', 1, 8).optional(),
    leaseTime: doc(duration('lease on a user while a worker copies it (multi-node claiming): renewed every third of it; a crashed worker\'s users are taken over after it; keep it well above the clock skew between nodes')
      .refine((ms) => ms >= 1000, 'must be at least 1s (renewals every third of it must reach the store in time)'),
    'lease on a user while a worker copies it (multi-node claiming): renewed every third of it; a crashed worker\'s users are taken over after it; keep it well above the clock skew between nodes', { type: 'duration' }).prefault('60s'),
    deleteOnTarget: doc(z.boolean().default(false), 'on a delta pass, delete target messages removed at the source'),
    skipDeleted: doc(z.boolean().default(true), 'do not copy messages flagged \\Deleted'),
    folders: z.strictObject({
      include: doc(z.array(z.string().min(1)), 'copy only these folders').optional(),
      exclude: doc(z.array(z.string().min(1)), 'never copy these folders').optional(),
      rules: doc(z.array(z.strictObject({
        from: regex('source folder name pattern (JavaScript regex)'),
        to: doc(z.string(), 'target name; $1.. refer to groups'),
      })), 'folder renames, first match wins').optional(),
    }).optional(),
    maxMessageSize: size('skip (and report) larger messages').optional(),
    schedule: doc(z.string().superRefine((v, zc) => {
      const r = parseSchedule(v);
      if (!r.ok) zc.addIssue({ code: 'custom', message: r.reason });
    }), 'when serve runs delta passes: an interval ("1h": that often, the first one an interval after start) or daily local times ("02:00" or "02:00, 14:00"); users already cut over are skipped; absent: no scheduled passes').optional(),
    cutover: z.strictObject({
      settle: duration('wait after every gateway acknowledged a hold, before the final delta pass: time for a relay (e.g. Postfix) between gateway and mailbox to empty its queue', { allowZero: true }).prefault('1s'),
      ackTimeout: duration('how long live gateway nodes get to acknowledge a hold before the cutover rolls back').prefault('60s'),
      concurrency: int('users cut over in parallel by --wave, --all and scheduled waves', 1, 64).default(4),
      verify: doc(z.enum(['hold', 'after', 'full']).default('hold'), 'hold: under the hold, before the flip, verify every message (counts, UID map, flags and keywords, INTERNALDATE, RFC822.SIZE; one metadata FETCH per folder) and hash only those the pre-check\'s full verify did not hash (the final pass\' copies; IMAP message bytes never change; a folder whose UIDVALIDITY changed is hashed whole); full: re-hash every message on both sides under the hold (time held grows with the mailbox); after: under the hold rely on the pre-check\'s full verify and the final pass\' report, verify fully right after the release'),
    }).prefault({}),
    waves: doc(z.array(z.strictObject({
      name: text('wave name, for `migrate cutover --wave NAME`'),
      at: isoTime('when serve cuts the wave over (ISO 8601 with a time zone, e.g. 2026-12-05T22:00:00Z)').optional(),
      users: doc(z.array(address('a user of the wave')), 'the wave\'s users by address').optional(),
      csvColumn: z.strictObject({
        file: path(ctx, 'CSV file with a header row (default: migration.users)').optional(),
        column: text('header name of the column that names the wave'),
        value: text('rows with this value belong to the wave (default: the wave name)').optional(),
      }).optional(),
      attribute: z.strictObject({
        name: text('attribute of the unified directory record (from the directory source, e.g. an LDAP attribute)'),
        value: text('users with this value belong to the wave (default: the wave name)').optional(),
      }).optional(),
      preDelta: duration('a delta pass of the wave\'s users this long before `at`, so the final pass is short', { allowZero: true }).prefault('1h'),
    }).superRefine(exclusive(['users', 'csvColumn', 'attribute'], 'one way to name the wave\'s users'))),
    'cutover waves: groups of users switched together, by `migrate cutover --wave NAME` or by serve at `at`').optional(),
  });
}

/** An ISO 8601 date and time with a zone ("Z" or "+01:00"); resolves to epoch ms. YAML may hand a Date. */
function isoTime(description: string) {
  const schema = z.unknown().transform((v, c): number => {
    const t = v instanceof Date ? v.getTime() : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(v.trim()) ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(t)) {
      c.addIssue({ code: 'custom', message: `expected an ISO 8601 time with a zone such as 2026-12-05T22:00:00Z, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return t;
  });
  return doc(schema, description);
}

function webSchema(ctx: SchemaContext) {
  const scrypt = z.string().refine((h) => /^scrypt\$\S+$/.test(h), {
    // Never echo it: people paste a plain password here.
    error: 'is not a scrypt hash (it must start with "scrypt$"; make one with `mailbridge passwd`)',
  });
  return z.strictObject({
    listen: z.strictObject({
      host: host('address the console listens on').default('127.0.0.1'),
      port: port('its port').default(8080),
    }).prefault({}),
    users: doc(z.array(z.strictObject({
      name: text('login name'),
      passwordHash: doc(scrypt, 'from `mailbridge passwd`'),
    })).superRefine((users, zc) => {
      users.forEach((u, i) => {
        if (users.findIndex((o) => o.name === u.name) < i) {
          zc.addIssue({ code: 'custom', path: [i, 'name'], message: `user ${JSON.stringify(u.name)} is listed twice` });
        }
      });
    }).default([]), 'console users'),
    metrics: z.strictObject({
      public: doc(z.boolean().default(false), 'serve /metrics without a login'),
    }).prefault({}),
    freebusy: z.strictObject({
      allowNetworks: doc(z.array(cidr('network')), 'networks allowed to query free/busy without a token').optional(),
      token: secret(ctx, 'bearer token for the free/busy endpoint').optional(),
    }).optional(),
  });
}

export function configSchema(ctx: SchemaContext): z.ZodType<ConfigBody> {
  const sectionsWithDefaults = {
    directory: z.strictObject({
      interval: duration('time between directory syncs under serve').prefault('15m'),
      deleteThreshold: int('a sync that would delete more people stops (see --allow-deletes)', 0, 10_000_000).default(500),
      conflictWinner: doc(z.array(z.string()), 'system order deciding who wins when two systems claim an address').optional(),
      changeOverlap: duration('an incremental sync asks LDAP for entries changed since the last run\'s newest change less this (replication lag, clock skew between masters; 0s for one server)', { allowZero: true }).prefault('2m'),
    }).prefault({}),
    probes: z.strictObject({
      interval: duration('time between synthetic probes').prefault('5m'),
      mailboxes: doc(z.record(z.string(), z.strictObject({
        address: address('probe mailbox address'),
        password: secret(ctx, 'its password').optional(),
      })), 'per system, a mailbox the probes send to and read', { keyName: 'system' }).optional(),
    }).prefault({}),
    calendar: z.strictObject({
      cacheTtl: duration('how long free/busy answers are cached', { allowZero: true }).prefault('5m'),
      timeout: duration('timeout for a calendar source').prefault('5s'),
      windowBack: duration('default window before now', { allowZero: true }).prefault('1d'),
      windowForward: duration('default window after now').prefault('60d'),
      maxWindow: duration('largest start..end a request may ask for').prefault('62d'),
      maxInstances: int('recurrence instances expanded per event at most', 1, 1_000_000).default(3500),
    }).prefault({}),
    check: z.strictObject({
      timeout: duration('timeout per endpoint in `mailbridge check`').prefault('10s'),
    }).prefault({}),
  };
  const systemName = z.string().regex(SYSTEM_NAME, {
    error: (iss) => `system name ${JSON.stringify(iss.input)} must start with a-z and use only a-z, 0-9, _ and -`,
  });
  return z.strictObject({
    organization: text('organization name shown in the console'),
    domains: doc(z.array(domain('domain')).min(1, { error: 'must list at least one domain' }), 'the shared address space'),
    store: z.strictObject({
      sqlite: path(ctx, 'SQLite database file (one machine)').optional(),
      postgres: postgresUrl('PostgreSQL connection URL (several nodes)').optional(),
    }).superRefine((s, zc) => {
      if (s.sqlite !== undefined && s.postgres !== undefined) {
        zc.addIssue({ code: 'custom', message: 'give either sqlite or postgres, not both' });
      } else if (s.sqlite === undefined && s.postgres === undefined) {
        zc.addIssue({ code: 'custom', message: 'give one of sqlite or postgres' });
      }
    }).prefault({ sqlite: './var/mailbridge.db' }),
    systems: doc(z.record(systemName, systemSchema(ctx))
      .refine((r) => Object.keys(r).length > 0, { error: 'must define at least one system' })
      .transform((r) => Object.fromEntries(Object.entries(r).map(([name, s]) => [name, { name, ...s }]))),
    'the mail systems; the names are yours', { keyName: 'name' }),
    gateway: gatewaySchema(ctx).optional(),
    migration: migrationSchema(ctx).optional(),
    web: webSchema(ctx).prefault({}),
    ...sectionsWithDefaults,
  }).superRefine(crossCheck, { when: () => true });
}
