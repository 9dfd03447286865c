/**
 * Every migration, in order. Add a file `NNN-name.ts` and one line here; never
 * edit or rename one that has shipped (stores in the field have recorded its
 * name). Names sort as text, so keep the three-digit prefix.
 */
import type { Migration } from 'kysely';
import * as m001 from './001-initial.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '001-initial': m001,
});

export const LATEST_MIGRATION: string = Object.keys(MIGRATIONS).sort().at(-1)!;
