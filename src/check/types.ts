/**
 * The shapes of `mailbridge check`. CheckTarget is the structural subset of the
 * config's SystemConfig that the checks read, so this module compiles on its own
 * and any SystemConfig can be passed where a CheckTarget is expected.
 */

/** What config hands out for a password: Secret from core, or anything with reveal(). */
export interface SecretLike {
  reveal(): string;
}

import type { CheckErrorCode } from './errors.js';

export type TlsMode = 'none' | 'starttls' | 'implicit';

export interface CheckTarget {
  name: string;
  smtp?: { host: string; port: number; protocol: 'smtp' | 'lmtp'; tls: TlsMode };
  imap?: {
    host: string;
    port: number;
    tls: TlsMode;
    admin?: { user: string; password: SecretLike; mode: 'master' | 'authzid' };
  };
  ldap?: {
    url: string;
    bindDn?: string;
    password?: SecretLike;
    baseDn: string;
    filter: string;
    contactsDn?: string;
    startTls: boolean;
  };
  users?: string;
  /** An LDIF export of the system's people (config has it; the brief's list did not). */
  ldif?: string;
  caldav?: { url: string; user?: string; password?: SecretLike; home: string };
  freebusyUrl?: string;
  tlsInsecure?: boolean;
}

export type EndpointKind = 'smtp' | 'lmtp' | 'imap' | 'ldap' | 'caldav' | 'freebusy' | 'users' | 'ldif';

export interface EndpointResult {
  system: string;
  endpoint: EndpointKind;
  /** host:port, a URL (without credentials) or a file path; never a password. */
  target: string;
  ok: boolean;
  latencyMs: number;
  /** One line: what was seen. */
  summary: string;
  error?: { code: CheckErrorCode; reason: string };
  /** Capabilities, DAV classes, counts ... */
  details: Record<string, unknown>;
}

export interface CheckReport {
  ok: boolean;
  results: EndpointResult[];
  startedAt: string;
  durationMs: number;
}

export interface CheckInput {
  systems: Record<string, CheckTarget>;
  /** Per endpoint, for the whole conversation (connect to QUIT). */
  timeoutMs: number;
}

export interface CheckOptions {
  /** Only these system names (unknown names are ignored by the engine; the CLI validates them). */
  only?: string[];
  /**
   * Per system, a mailbox that exists, used as the target of the IMAP admin login
   * (see imap.ts for why a target is needed; config: probes.mailboxes[system].address).
   * Default: the first address of the system's users CSV, else the first `mail`
   * in its LDAP, else a made-up name (see madeUpProbe).
   */
  probeUsers?: Record<string, string>;
  /**
   * When no mailbox is known, log in as a made-up user to prove the admin
   * password (default true). Each such login is a failed login to the server,
   * which raises Dovecot's per-IP auth penalty; scheduled checks should pass false.
   */
  madeUpProbe?: boolean;
}
