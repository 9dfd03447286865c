/** Domain types shared by every subsystem. */

/** A lower-cased, validated mailbox address: local@domain. */
export type Address = string & { readonly __brand: 'Address' };

/** The name of a system in the config (`systems.<name>`). */
export type SystemName = string;

export type EndpointKind = 'smtp' | 'lmtp' | 'imap' | 'ldap' | 'caldav' | 'freebusy';

/** The unified record of one person (see DESIGN.md: the user record). */
export interface UserRecord {
  address: string;
  aliases: string[];
  displayName: string | null;
  homeSystem: SystemName;
  migrationState: MigrationState;
}

export type MigrationState = 'none' | 'pending' | 'copying' | 'synced' | 'verified' | 'failed' | 'cutover';

/** Splits an address at its last '@'; null when it is not local@domain. */
export function splitAddress(addr: string): { local: string; domain: string } | null {
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return null;
  return { local: addr.slice(0, at), domain: addr.slice(at + 1).toLowerCase() };
}
