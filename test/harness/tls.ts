/**
 * A self-signed certificate for the lab: one RSA key and certificate per
 * directory, made with openssl (no passphrase, 30 days) and reused on the next
 * call for the same directory and CN.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface CertPaths {
  /** Path of the PEM private key. */
  key: string;
  /** Path of the PEM certificate. */
  cert: string;
}

const made = new Map<string, CertPaths>();

export function selfSignedCert(dir: string, cn = 'gateway.lab.test'): CertPaths {
  const name = cn.replace(/[^A-Za-z0-9.-]/g, '_');
  const id = `${resolve(dir)}\0${name}`;
  const cached = made.get(id);
  if (cached && existsSync(cached.key) && existsSync(cached.cert)) return cached;
  mkdirSync(dir, { recursive: true });
  const paths: CertPaths = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.crt`) };
  if (!existsSync(paths.key) || !existsSync(paths.cert)) {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30',
      '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`,
      '-keyout', paths.key, '-out', paths.cert,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  made.set(id, paths);
  return paths;
}
