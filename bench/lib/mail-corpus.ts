/**
 * A deterministic, realistic mailbox corpus for the migration benchmark, and
 * its fast load into a lab Dovecot (setup, never a figure).
 *
 * Sizes are mostly small with a long tail, calibrated to the mailbox the issue
 * measures dsync on (6,000 messages, about 33 MB, so a mean near 6 KB):
 * 80% 1-4 KB, 18.4% 4-16 KB, 1.5% 16-200 KB, and one message in a thousand
 * 0.2-5 MB (a base64 attachment). Log-uniform inside each band. Flags as people
 * leave them: most read, some answered, flagged, forwarded, a custom keyword;
 * \Draft in Drafts. No \Deleted: mailbridge skips those by default and dsync
 * copies them, so they would make the two targets differ by design.
 */
import { seededRandom } from '../../src/core/index.js';
import type { ImapFlow } from 'imapflow';
import { PipelinedAppender } from '../../src/migration/appender.js';
import { imapDateTime } from '../../src/migration/imap-parse.js';
import { LAB_HOST, type DovecotInfo } from '../../test/harness/index.js';

/** Legacy (Maildir++, '.' separator) folder names and their share of the messages. */
export const FOLDERS: ReadonlyArray<[string, number]> = [
  ['INBOX', 0.36], ['Sent', 0.15], ['Drafts', 0.01], ['Trash', 0.03], ['Junk', 0.02], ['Archive', 0.08],
  ['Archive.2024', 0.08], ['Archive.2025', 0.06], ['Projects', 0.03], ['Projects.Alpha', 0.04], ['Projects.Beta', 0.03],
  ['Lists', 0.02], ['Lists.dev', 0.05], ['Receipts', 0.02], ['Travel & Expenses', 0.01], ['Entwürfe alt', 0.01],
];

export interface CorpusMessage { folder: string; body: Buffer; flags: string[]; date: Date }


const WORDS = ('the quarterly report migration server mailbox meeting agenda budget invoice customer project deadline review '
  + 'please find attached update regarding schedule team thanks regards tomorrow monday friday contract draft approval '
  + 'network storage backup release version feedback question answer summary notes travel hotel flight expense').split(' ');

/** ~64 KB of text lines (76 chars, CRLF) to slice bodies from. */
function textPool(r: () => number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < 64 * 1024) {
    let line = '';
    while (line.length < 70) line += `${WORDS[Math.floor(r() * WORDS.length)]} `;
    line = `${line.trimEnd()}\r\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

function logUniform(r: () => number, lo: number, hi: number): number {
  return Math.round(Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo))));
}

function sizeFor(r: () => number, i: number): number {
  if (i % 1000 === 999) return logUniform(r, 200 * 1024, 5 * 1024 * 1024);
  const x = r();
  if (x < 0.8) return logUniform(r, 1024, 4 * 1024);
  if (x < 0.985) return logUniform(r, 4 * 1024, 16 * 1024);
  return logUniform(r, 16 * 1024, 200 * 1024);
}

function pickFolder(r: () => number): string {
  let x = r();
  for (const [name, share] of FOLDERS) {
    if (x < share) return name;
    x -= share;
  }
  return 'INBOX';
}

function flagsFor(r: () => number, folder: string): string[] {
  const f: string[] = [];
  if (folder === 'Drafts') return ['\\Draft'];
  if (folder === 'Sent' || r() < 0.7) f.push('\\Seen');
  if (r() < 0.05) f.push('\\Answered');
  if (r() < 0.03) f.push('\\Flagged');
  if (r() < 0.02) f.push('$Forwarded');
  if (r() < 0.01) f.push('project_x');
  return f;
}

/** A base64 attachment of `n` bytes of pseudo-random data, 76 columns. */
function base64Block(r: () => number, n: number): string {
  const raw = Buffer.allocUnsafe(Math.ceil((n * 3) / 4));
  for (let i = 0; i < raw.length; i += 4) raw.writeUInt32LE(Math.floor(r() * 4294967296), Math.min(i, raw.length - 4));
  return raw.toString('base64').replace(/.{76}/g, '$&\r\n');
}

function message(r: () => number, pool: string, seed: number, i: number, folder: string, size: number, date: Date): Buffer {
  const subject = `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} #${i}`;
  const head = [
    `Return-Path: <sender${i % 97}@legacy.example.com>`,
    `From: "Sender ${i % 97}" <sender${i % 97}@example.org>`,
    'To: "Bench User" <user@example.com>',
    `Subject: ${subject}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <bench.${seed}.${i}@example.org>`,
    'MIME-Version: 1.0',
  ];
  const room = Math.max(200, size - head.join('\r\n').length - 300);
  if (size < 200 * 1024) {
    const start = Math.floor(r() * (pool.length / 2));
    let text = '';
    while (text.length < room) text += pool.slice(start, start + Math.min(room - text.length, pool.length - start));
    head.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', text.slice(0, room).replace(/\r?\n?$/, '\r\n'));
    return Buffer.from(head.join('\r\n'));
  }
  const b = `b${seed}x${i}`;
  head.push(`Content-Type: multipart/mixed; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain; charset=utf-8', '',
    pool.slice(0, 2000), `--${b}`, `Content-Type: application/pdf; name="file-${i}.pdf"`, 'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="file-${i}.pdf"`, '', base64Block(r, room), `--${b}--`, '');
  return Buffer.from(head.join('\r\n'));
}

/** `count` messages for one mailbox; `seed` makes mailboxes differ from each other. */
export function* corpus(count: number, seed: number): Generator<CorpusMessage> {
  const r = seededRandom(seed);
  const pool = textPool(r);
  const t0 = Date.UTC(2021, 0, 1);
  const span = Date.UTC(2026, 10, 1) - t0;
  for (let i = 0; i < count; i++) {
    const folder = pickFolder(r);
    // Whole seconds: INTERNALDATE has no sub-second part.
    const date = new Date(Math.floor((t0 + r() * span) / 1000) * 1000);
    yield { folder, body: message(r, pool, seed, i, folder, sizeFor(r, i), date), flags: flagsFor(r, folder), date };
  }
}

/** Modified UTF-7 (RFC 3501 5.1.3) of a folder name, for the wire. */
export function mutf7(name: string): string {
  return name.replace(/&/g, '&-').replace(/[^\x20-\x7e]+/g, (s) => {
    const u = Buffer.alloc(s.length * 2);
    for (let i = 0; i < s.length; i++) u.writeUInt16BE(s.charCodeAt(i), i * 2);
    return `&${u.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
  });
}

/**
 * Loads `count` corpus messages into one user's mailbox on `info`: folders
 * created with imapflow, messages appended with MULTIAPPEND over LITERAL+ in
 * batches of ~4 MB on two pipelined connections (INTERNALDATE and flags set).
 */
export async function loadMailbox(info: DovecotInfo, session: ImapFlow, address: string, count: number, seed: number): Promise<{ messages: number; bytes: number }> {
  const existing = new Set((await session.list()).map((m) => m.path));
  for (const [name] of FOLDERS) if (!existing.has(name)) await session.mailboxCreate(name);
  const auth = { user: `${address}*${info.masterUser}`, pass: info.masterPassword };
  const ep = { host: LAB_HOST, port: info.imapPort, tls: 'none' as const };
  const pipes = [await PipelinedAppender.open(ep, auth), await PipelinedAppender.open(ep, auth)];
  let bytes = 0;
  let messages = 0;
  try {
    const pending = new Map<string, CorpusMessage[]>();
    const pendingBytes = new Map<string, number>();
    const inFlight: Promise<unknown>[] = [];
    let turn = 0;
    const flush = async (folder: string) => {
      const items = pending.get(folder) ?? [];
      pending.set(folder, []);
      pendingBytes.set(folder, 0);
      if (items.length === 0) return;
      const pipe = pipes[turn++ % pipes.length]!;
      const rs = await pipe.appendMany(mutf7(folder), items.map((x) => ({ body: x.body, flags: x.flags, date: imapDateTime(x.date) })));
      const bad = rs.find((x) => !x.ok);
      if (bad && !bad.ok) throw new Error(`loading ${address} ${folder}: ${bad.reason}`);
    };
    for (const m of corpus(count, seed)) {
      messages++;
      bytes += m.body.length;
      pending.set(m.folder, [...(pending.get(m.folder) ?? []), m]);
      const b = (pendingBytes.get(m.folder) ?? 0) + m.body.length;
      pendingBytes.set(m.folder, b);
      if (b > 4 * 1024 * 1024 || (pending.get(m.folder)?.length ?? 0) >= 500) {
        inFlight.push(flush(m.folder));
        if (inFlight.length >= 4) await Promise.all(inFlight.splice(0));
      }
    }
    for (const f of pending.keys()) inFlight.push(flush(f));
    await Promise.all(inFlight);
  } finally {
    for (const p of pipes) p.close();
  }
  return { messages, bytes };
}
