/**
 * One IMAP session per user and side. With `imap.admin` the user is opened
 * through the admin: Dovecot's master-user login "<user>*<admin>" (mode master)
 * or SASL PLAIN with the user as authorization identity (mode authzid, RFC 4616
 * section 2); otherwise with the user's own login from the users CSV.
 */
import { ImapFlow, type AuthOptions } from 'imapflow';
import { MbError } from '../core/index.js';
import type { ImapEndpoint } from '../config/index.js';
import { MigrationErrors } from './errors.js';
import type { UserLogin } from './types.js';

export interface SessionTarget {
  endpoint: ImapEndpoint;
  /** The system's name, for messages. */
  system: string;
  address: string;
  login?: UserLogin;
  /** Accept self-signed certificates (SystemConfig.tlsInsecure). */
  tlsInsecure?: boolean;
}


export function authFor(t: SessionTarget): AuthOptions {
  if (t.login) return { user: t.login.user, pass: t.login.password.reveal() };
  const admin = t.endpoint.admin;
  if (!admin) {
    throw new MbError(MigrationErrors.MIGRATION_NOT_CONFIGURED,
      `no login for ${t.address} on ${t.system}: set systems.${t.system}.imap.admin or give its login in migration.users`);
  }
  if (admin.mode === 'authzid') {
    return { user: admin.user, pass: admin.password.reveal(), authzid: t.address, loginMethod: 'AUTH=PLAIN' };
  }
  return { user: `${t.address}*${admin.user}`, pass: admin.password.reveal() };
}

/** Network-level failures: the server could not be reached (exit 3), as opposed to a refused login. */
function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|CONNECT_TIMEOUT|GREETING_TIMEOUT|NoConnection)$/.test(code);
}

export async function openSession(t: SessionTarget): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: t.endpoint.host,
    port: t.endpoint.port,
    secure: t.endpoint.tls === 'implicit',
    doSTARTTLS: t.endpoint.tls === 'starttls' ? true : t.endpoint.tls === 'none' ? false : undefined,
    auth: authFor(t),
    logger: false,
    disableAutoIdle: true,
    // The copy works on exact bytes: never let the client decode BINARY content.
    disableBinary: false,
    tls: t.tlsInsecure ? { rejectUnauthorized: false } : undefined,
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
    socketTimeout: 300_000,
  });
  // A dropped connection surfaces on the next command; without a listener an 'error' would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    const unreachable = isUnreachable(err);
    const authFailed = (err as { authenticationFailed?: boolean }).authenticationFailed === true;
    throw new MbError(
      unreachable ? MigrationErrors.MIGRATION_CONNECT_FAILED : MigrationErrors.MIGRATION_LOGIN_FAILED,
      `${t.system} imap ${t.endpoint.host}:${t.endpoint.port}: ${unreachable ? 'unreachable' : authFailed ? `login for ${t.address} refused` : 'session failed'}`,
      { retry: unreachable ? 'transient' : 'permanent', cause: err, details: { system: t.system } },
    );
  }
  return client;
}

/** Logs out, or drops the connection when LOGOUT cannot be sent. */
export async function closeSession(client: ImapFlow): Promise<void> {
  try {
    await client.logout();
  } catch {
    client.close();
  }
}
