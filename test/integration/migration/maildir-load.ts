/**
 * Fast load of many small messages into the legacy Dovecot (maildir:, see
 * test/harness/dovecot.ts): the files are written straight into the user's
 * INBOX maildir (cur/, flags in the ":2," suffix, INTERNALDATE as the file's
 * mtime), owned by the lab user, then `doveadm force-resync` gives them UIDs.
 * 100,000 messages load in seconds instead of minutes of IMAP APPEND. Setup for
 * tests and bench/migrate-memory.ts, never a figure.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chownTree, doveadm, type DovecotInfo } from '../../harness/index.js';

export interface LoadedMessage { i: number; body: Buffer; flags: string[]; date: Date }

const LETTER: Record<string, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S' };
const WORDS = 'migration mailbox quarterly report meeting budget invoice customer project deadline review update schedule'.split(' ');

/** Message `i` of a deterministic small corpus (about 1-2 KB, a Message-ID each, flags and dates varied). */
export function smallMessage(i: number, tag: string): LoadedMessage {
  const date = new Date(Date.UTC(2022, 0, 1) + (i * 7919 % 86_400_000) * 1000);
  const line = `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} ${'lorem ipsum dolor sit amet '.repeat(2)}${i}\r\n`;
  const body = Buffer.from([
    `From: "Sender ${i % 97}" <sender${i % 97}@example.org>`, 'To: user@example.com', `Subject: ${WORDS[i % WORDS.length]} #${i}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`, `Message-ID: <mem.${tag}.${i}@example.org>`, 'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8', '', line.repeat(10 + (i % 20)),
  ].join('\r\n'));
  const flags = i % 10 === 0 ? [] : i % 17 === 0 ? ['\\Seen', '\\Flagged'] : i % 23 === 0 ? ['\\Answered', '\\Seen'] : ['\\Seen'];
  return { i, body, flags, date };
}

/** Writes `count` messages (smallMessage(from..from+count-1)) into ADDRESS's INBOX on a maildir Dovecot; returns their bytes. */
export async function loadInboxMaildir(info: DovecotInfo, domain: string, address: string, count: number, tag: string, from = 0): Promise<number> {
  const local = address.slice(0, address.indexOf('@'));
  const root = join(info.dir, 'mail', domain, local);
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(root, sub), { recursive: true });
  let bytes = 0;
  for (let n = from; n < from + count; n++) {
    const m = smallMessage(n, tag);
    const letters = m.flags.map((f) => LETTER[f]!).sort().join('');
    const file = join(root, 'cur', `${1_600_000_000 + n}.M${n}P1.membench:2,${letters}`);
    writeFileSync(file, m.body);
    utimesSync(file, m.date, m.date);
    bytes += m.body.length;
  }
  chownTree(join(info.dir, 'mail', domain));
  await doveadm(info, ['force-resync', '-u', address, 'INBOX']);
  return bytes;
}
