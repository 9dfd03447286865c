/**
 * What the gateway asks the directory: where does mail for this address go.
 * Expected outcomes are values (STYLE.md): a known person routes to their home
 * system; an address outside the shared domains is external; anything else is
 * unknown. Store failures are thrown (transient), never turned into "unknown".
 */
import { splitAddress } from '../core/index.js';
import type { StoredUser, Store } from '../store/index.js';

export type Resolution =
  | { kind: 'system'; name: string; record: StoredUser; via: 'address' | 'alias' }
  | { kind: 'external' }
  | { kind: 'unknown' };

export async function resolveRecipient(
  store: Pick<Store, 'users'>, address: string, opts: { domains?: readonly string[] } = {},
): Promise<Resolution> {
  const key = address.trim().toLowerCase();
  const parts = splitAddress(key);
  if (parts && opts.domains && !opts.domains.some((d) => d.toLowerCase() === parts.domain)) return { kind: 'external' };
  const record = await store.users.get(key);
  if (!record) return { kind: 'unknown' };
  return { kind: 'system', name: record.homeSystem, record, via: record.address === key ? 'address' : 'alias' };
}
