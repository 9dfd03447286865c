/**
 * PostgreSQL for the store tests, from the lab (never a hand-started server):
 * the shared lab when MAILBRIDGE_LAB names one, else a private lab with only
 * PostgreSQL. Each test gets a database of its own (CREATE DATABASE mb_<random>),
 * so test files and parallel runs never see each other's rows; all are dropped
 * when the file ends.
 */
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
import { useLab } from '../../harness/index.js';

export async function labPostgresUrl(): Promise<string> {
  const lab = await useLab(undefined, { only: ['postgres'] });
  if (!lab.postgres) {
    throw new Error(
      `store tests: the lab in ${lab.dir} has no PostgreSQL (lab.postgres is missing). ` +
        'Start the lab with PostgreSQL (npm run lab -- up DIR, or unset MAILBRIDGE_LAB for a private lab); ' +
        'the PostgreSQL suite is never skipped.',
    );
  }
  return lab.postgres.url;
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates fresh databases on the lab's server and drops them when the file ends.
 * Call it at the top level of a test file (top-level await): the lab a private
 * run starts is then stopped by a file-level hook, after every test, and the drop
 * hook, registered first, runs while the server is still up.
 */
export async function freshDatabases(): Promise<() => Promise<string>> {
  const created: string[] = [];
  const lab: { admin?: string } = {};
  after(async () => {
    if (!lab.admin || created.length === 0) return;
    try {
      await withAdmin(lab.admin, async (c) => {
        // FORCE (PostgreSQL 13+): a store a failed test did not close must not keep its database alive.
        for (const name of created) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    } catch (err) {
      // A private lab whose stop hook ran first took the server and its data with
      // it: nothing is left to drop. Any other failure is a real one.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
    }
  });
  const adminUrl = await labPostgresUrl();
  lab.admin = adminUrl;
  return async () => {
    const name = `mb_${randomBytes(6).toString('hex')}`;
    await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
    created.push(name);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
}
