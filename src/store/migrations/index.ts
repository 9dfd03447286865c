/**
 * Every migration, in order. Add a file `NNN-name.ts` and one line here; never
 * edit or rename one that has shipped (stores in the field have recorded its
 * name). Names sort as text, so keep the three-digit prefix.
 */
import type { Migration } from 'kysely';
import * as m001 from './001-initial.js';
import * as m002 from './002-directory.js';
import * as m003 from './003-migration.js';
import * as m004 from './004-gateway.js';
import * as m005 from './005-cutover.js';
import * as m006 from './006-console.js';
import * as m007 from './007-directory.js';
import * as m008 from './008-migration-lease.js';
import * as m009 from './009-migration-target-uid.js';
import * as m010 from './010-directory-high-mark.js';
import * as m011 from './011-migration-batch-intents.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '001-initial': m001,
  '002-directory': m002,
  '003-migration': m003,
  '004-gateway': m004,
  '005-cutover': m005,
  '006-console': m006,
  '007-directory': m007,
  '008-migration-lease': m008,
  '009-migration-target-uid': m009,
  '010-directory-high-mark': m010,
  '011-migration-batch-intents': m011,
});

export const LATEST_MIGRATION: string = Object.keys(MIGRATIONS).sort().at(-1)!;
