/** What every repository gets: its database handle (the pool, or a transaction), a clock and ids. */
import type { Kysely } from 'kysely';
import { MbError } from '../../core/index.js';
import { StoreErrors } from '../errors.js';
import type { IdGenerator } from '../ids.js';
import type { Database } from '../schema.js';

export interface RepoContext {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  now: () => number;
  newId: IdGenerator;
}

/** Runs fn in a transaction, or in the caller's when the repository is already bound to one. */
export function inTransaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

export function encodeJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Decodes a JSON column; a value that is not JSON is a damaged row, not a caller error. */
export function decodeJson<T>(text: string, column: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new MbError(StoreErrors.STORE_QUERY_FAILED, `store: column ${column} does not hold JSON`, {
      cause: err,
      details: { column },
    });
  }
}

/** Page sizes: a negative or fractional limit is a programming error, not a reason to return everything. */
export function pageArgs(limit: number, offset = 0): { limit: number; offset: number } {
  if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0) {
    throw new MbError(StoreErrors.STORE_QUERY_FAILED, `store: bad page (limit ${limit}, offset ${offset})`);
  }
  return { limit, offset };
}
