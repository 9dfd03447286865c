/**
 * The credential store of SMTP AUTH (`gateway.auth.users`): names with scrypt
 * hashes made by `mailbridge passwd`, checked with core's verifyPassword. An
 * unknown name costs the same scrypt work as a wrong password, so the time of
 * a 535 does not tell which names exist.
 */
import { hashPassword, verifyPassword } from '../core/index.js';

export type Authenticate = (user: string, password: string) => Promise<boolean>;

export function credentialCheck(users: readonly { readonly name: string; readonly passwordHash: string }[]): Authenticate {
  const byName = new Map(users.map((u) => [u.name, u.passwordHash]));
  let decoy: Promise<string> | undefined;
  return async (user, password) => {
    const hash = byName.get(user);
    if (hash === undefined) {
      decoy ??= hashPassword('decoy: no such user');
      await verifyPassword(password, await decoy);
      return false;
    }
    return verifyPassword(password, hash);
  };
}
