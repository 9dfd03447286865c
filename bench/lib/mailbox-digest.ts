/**
 * Content of a whole mailbox as comparable data, for benchmarks that must prove
 * their copy is complete: per folder (hierarchy separator normalized to '/'),
 * the sorted multiset of "sha256 flags INTERNALDATE" of every message. Two
 * mailboxes with the same digest hold the same bytes, flags and dates, whatever
 * their UIDs and separators.
 */
import { createHash } from 'node:crypto';
import type { ImapFlow } from 'imapflow';

export interface MailboxDigest {
  folders: Map<string, string[]>;
  messages: number;
  bytes: number;
}

export async function mailboxDigest(client: ImapFlow): Promise<MailboxDigest> {
  const out: MailboxDigest = { folders: new Map(), messages: 0, bytes: 0 };
  for (const box of await client.list()) {
    if (box.flags.has('\\Noselect') || box.flags.has('\\NonExistent')) continue;
    const name = box.delimiter ? box.path.split(box.delimiter).join('/') : box.path;
    const opened = await client.mailboxOpen(box.path, { readOnly: true });
    const list: string[] = [];
    if (opened.exists > 0) {
      for await (const m of client.fetch('1:*', { uid: true, source: true, flags: true, internalDate: true }, { uid: true })) {
        const flags = [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort().join(',');
        list.push(`${createHash('sha256').update(m.source!).digest('hex')} ${flags} ${new Date(m.internalDate!).toISOString()}`);
        out.bytes += m.source!.length;
      }
    }
    out.messages += list.length;
    if (list.length > 0) out.folders.set(name.toUpperCase() === 'INBOX' ? 'INBOX' : name, list.sort());
  }
  return out;
}

/** "" when equal, else a short description of the first differences. */
export function compareDigests(source: MailboxDigest, target: MailboxDigest): string {
  const diffs: string[] = [];
  for (const [folder, want] of source.folders) {
    const have = target.folders.get(folder);
    if (!have) { diffs.push(`${folder}: missing on the target (${want.length} messages)`); continue; }
    const extra = new Map<string, number>();
    for (const x of have) extra.set(x, (extra.get(x) ?? 0) + 1);
    let missing = 0;
    for (const x of want) {
      const n = extra.get(x) ?? 0;
      if (n > 0) extra.set(x, n - 1);
      else missing++;
    }
    const surplus = [...extra.values()].reduce((a, b) => a + b, 0);
    if (missing || surplus) diffs.push(`${folder}: ${missing} missing or different, ${surplus} extra`);
  }
  for (const [folder, have] of target.folders) if (!source.folders.has(folder)) diffs.push(`${folder}: ${have.length} messages only on the target`);
  return diffs.slice(0, 5).join('; ');
}
