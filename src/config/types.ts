/**
 * The resolved configuration, as every subsystem sees it. Produced only by
 * schema.ts (through load.ts) and deeply frozen, hence readonly throughout.
 * Durations are milliseconds, sizes are bytes, paths are absolute, secrets are
 * `Secret`s (redacted when printed).
 */
import type { Secret } from '../core/index.js';

export type TlsMode = 'none' | 'starttls' | 'implicit';

export interface SmtpEndpoint {
  readonly host: string;
  readonly port: number;
  readonly protocol: 'smtp' | 'lmtp';
  readonly tls: TlsMode;
  /** bytes */
  readonly maxMessageSize?: number;
  /** Connections at once; always set by the schema (default 10), optional for hand-built configs. */
  readonly concurrency?: number;
}

export interface ImapAdmin {
  readonly user: string;
  readonly password: Secret;
  /** master: Dovecot style login "<user>*<admin>"; authzid: SASL PLAIN authorization identity. */
  readonly mode: 'master' | 'authzid';
}

export interface ImapEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMode;
  readonly admin?: ImapAdmin;
  /** bytes */
  readonly appendLimit?: number;
}

export interface LdapEndpoint {
  readonly url: string;
  readonly bindDn?: string;
  readonly password?: Secret;
  readonly baseDn: string;
  readonly filter: string;
  readonly contactsDn?: string;
  readonly startTls: boolean;
  readonly flavor: 'openldap' | 'ad' | 'domino';
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface CaldavEndpoint {
  readonly url: string;
  readonly user?: string;
  readonly password?: Secret;
  /** a person's calendar home under url, with {address} {local} {domain} */
  readonly home: string;
}

export interface SystemConfig {
  readonly name: string;
  readonly smtp?: SmtpEndpoint;
  readonly imap?: ImapEndpoint;
  readonly ldap?: LdapEndpoint;
  /** absolute path of a CSV file: address,name,aliases */
  readonly users?: string;
  /** absolute path of an LDIF file */
  readonly ldif?: string;
  readonly caldav?: CaldavEndpoint;
  readonly freebusyUrl?: string;
  /** accept self-signed / unverifiable certificates from this system */
  readonly tlsInsecure?: boolean;
}

export interface StoreConfig {
  /** absolute path */
  readonly sqlite?: string;
  readonly postgres?: string;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface GatewayConfig {
  readonly listen: readonly ListenAddress[];
  readonly spool: string;
  readonly relayNetworks: readonly string[];
  readonly maxMessageSize: number;
  readonly hopLimit: number;
  /** ms before the 220 greeting; 0 greets at once. */
  readonly greetPause: number;
  readonly retry: {
    readonly schedule: readonly number[];
    readonly maxAge: number;
    readonly warnAfter: number;
  };
  readonly external?: { readonly host: string; readonly port: number; readonly tls: TlsMode; readonly concurrency?: number };
  readonly routing: {
    readonly mode: 'central' | 'chaining' | 'selective';
    readonly overflowSystem?: string;
    readonly routingDomains?: Readonly<Record<string, string>>;
  };
  readonly tls?: { readonly cert: string; readonly key: string };
  /** SMTP AUTH accounts (scrypt hashes from `mailbridge passwd`). */
  readonly auth?: { readonly users: readonly { readonly name: string; readonly passwordHash: string }[] };
  readonly pickup?: string;
  readonly trackingRetention: number;
  readonly hostname?: string;
}

export interface FolderRule {
  readonly from: string;
  readonly to: string;
}

export interface MigrationConfig {
  readonly from: string;
  readonly to: string;
  readonly users?: string;
  readonly concurrency: number;
  /** Folders of one user copied at once (default 2: migration/lanes.ts). */
  readonly foldersInParallel?: number;
  /** migration.leaseTime in ms (default 60 s); optional so hand-built configs (tests, benchmarks) need not spell it out. */
  readonly leaseTime?: number;
  readonly deleteOnTarget: boolean;
  readonly skipDeleted: boolean;
  readonly folders?: {
    readonly include?: readonly string[];
    readonly exclude?: readonly string[];
    readonly rules?: readonly FolderRule[];
  };
  readonly maxMessageSize?: number;
  readonly schedule?: string;
  /** Always set by the schema; optional so hand-built configs (tests, benchmarks) need not spell it out. */
  readonly cutover?: CutoverConfig;
  readonly waves?: readonly WaveConfig[];
}

/** migration.cutover (issue 8). Durations in ms. */
export interface CutoverConfig {
  readonly settle: number;
  readonly ackTimeout: number;
  readonly concurrency: number;
  readonly verify: 'hold' | 'after' | 'full';
}

/** One entry of migration.waves; `at` in epoch ms, preDelta in ms. */
export interface WaveConfig {
  readonly name: string;
  readonly at?: number;
  readonly users?: readonly string[];
  readonly csvColumn?: { readonly file?: string; readonly column: string; readonly value?: string };
  readonly attribute?: { readonly name: string; readonly value?: string };
  readonly preDelta: number;
}

export interface WebUser {
  readonly name: string;
  readonly passwordHash: string;
}

export interface WebConfig {
  readonly listen: ListenAddress;
  readonly users: readonly WebUser[];
  readonly metrics: { readonly public: boolean };
  readonly freebusy?: { readonly allowNetworks?: readonly string[]; readonly token?: Secret };
}

export interface DirectoryConfig {
  readonly interval: number;
  readonly deleteThreshold: number;
  readonly conflictWinner?: readonly string[];
  /** ms below the last run's highest change mark that an incremental read starts (directory/delta.ts); default 2 minutes. */
  readonly changeOverlap?: number;
}

export interface ProbeMailbox {
  readonly address: string;
  readonly password?: Secret;
}

export interface ProbesConfig {
  readonly interval: number;
  readonly mailboxes?: Readonly<Record<string, ProbeMailbox>>;
}

export interface CalendarConfig {
  readonly cacheTtl: number;
  readonly timeout: number;
  readonly windowBack: number;
  readonly windowForward: number;
  readonly maxWindow: number;
  readonly maxInstances: number;
}

export interface CheckConfig {
  readonly timeout: number;
}

/** Everything the schema produces; load.ts adds file and dir. */
export interface ConfigBody {
  readonly organization: string;
  readonly domains: readonly string[];
  readonly store: StoreConfig;
  readonly systems: Readonly<Record<string, SystemConfig>>;
  readonly gateway?: GatewayConfig;
  readonly migration?: MigrationConfig;
  readonly web: WebConfig;
  readonly directory: DirectoryConfig;
  readonly probes: ProbesConfig;
  readonly calendar: CalendarConfig;
  readonly check: CheckConfig;
}

export interface Config extends ConfigBody {
  /** absolute path of the configuration file */
  readonly file: string;
  /** its folder; relative paths in the file resolve against it */
  readonly dir: string;
}

/** One problem in a configuration file. */
export interface ConfigIssue {
  file: string;
  /** dotted key path, array items by index: "gateway.listen.0.port"; "" for the whole file */
  path: string;
  /** plain English */
  reason: string;
  line?: number;
}
