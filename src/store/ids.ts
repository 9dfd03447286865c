/**
 * Row ids, made in JS rather than by the database: the same code on SQLite and
 * PostgreSQL (no RETURNING or lastInsertRowid differences), ids known before the
 * insert (so a run id can go into a log line at once), and no sequence to
 * coordinate between several nodes sharing one PostgreSQL.
 *
 * Shape: 9 base36 chars of epoch ms (fixed width, so text order is time order
 * until the year 5188) + 4 chars of a per-process counter within the same
 * millisecond + 8 random chars. Lower-case [0-9a-z] only, so byte order and any
 * collation agree. Across nodes, ids of the same millisecond are unordered:
 * queries order by their timestamp column and use the id only as a tie-break.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const TIME_WIDTH = 9;
const SEQ_WIDTH = 4;
const RANDOM_WIDTH = 8;
export const ID_LENGTH = TIME_WIDTH + SEQ_WIDTH + RANDOM_WIDTH;

export type IdGenerator = () => string;

export function createIdGenerator(
  now: () => number = Date.now,
  random: (n: number) => Uint8Array = randomBytes,
): IdGenerator {
  let lastMs = -1;
  let seq = 0;
  return () => {
    const ms = Math.max(0, Math.floor(now()));
    if (ms === lastMs) seq = (seq + 1) % 36 ** SEQ_WIDTH;
    else {
      lastMs = ms;
      seq = 0;
    }
    let rand = '';
    for (const b of random(RANDOM_WIDTH)) rand += ALPHABET[b % 36];
    return ms.toString(36).padStart(TIME_WIDTH, '0') + seq.toString(36).padStart(SEQ_WIDTH, '0') + rand;
  };
}

/** The epoch ms an id was made at. */
export function idTime(id: string): number {
  return parseInt(id.slice(0, TIME_WIDTH), 36);
}
