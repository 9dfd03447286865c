/** Human text for `directory sync` and `directory show` (the --json forms print the values as they are). */
import type { ItemChange } from './types.js';
import type { ShowResult } from './show.js';
import type { SyncResult } from './sync.js';

const LIMIT = 50;

function section(title: string, items: readonly ItemChange[], lines: string[]): void {
  if (items.length === 0) return;
  lines.push(`${title} (${items.length}):`);
  for (const i of items.slice(0, LIMIT)) lines.push(`  ${i.system.padEnd(10)} ${i.address}${i.detail ? `  ${i.detail}` : ''}${i.dn && !i.detail?.includes(i.dn) ? `  [${i.dn}]` : ''}`);
  if (items.length > LIMIT) lines.push(`  ... and ${items.length - LIMIT} more (--json lists all)`);
}

export function formatSyncResult(r: SyncResult): string {
  const d = r.diff;
  const lines: string[] = [];
  const read = (system: string) => {
    const x = r.reads[system];
    const how = x?.reason ? ` (${x.reason})` : x?.since ? ` by change ${x.since}` : '';
    return x ? `; ${x.mode} read${how}: ${x.people} entries and ${x.contacts} contacts read whole` : '';
  };
  const src = Object.entries(d.sources).map(([s, v]) => `${s}: ${v.people} people (${v.kind}), ${v.contacts} contacts of ours${read(s)}`);
  lines.push(`directory sync ${r.status === 'dry-run' ? '(dry run, nothing written)' : r.status}; run ${r.runId}`);
  lines.push(...src.map((s) => `  ${s}`));
  section('people added', d.people.add, lines);
  section('people changed', d.people.change, lines);
  section('people deleted', d.people.delete, lines);
  section('contacts added', d.contacts.add, lines);
  section('contacts changed', d.contacts.change, lines);
  section('contacts deleted', d.contacts.delete, lines);
  if (d.conflicts.length) {
    lines.push(`conflicts (${d.conflicts.length}):`);
    for (const c of d.conflicts.slice(0, LIMIT)) lines.push(`  ${c.kind.padEnd(19)} ${c.address}  ${c.detail}`);
    if (d.conflicts.length > LIMIT) lines.push(`  ... and ${d.conflicts.length - LIMIT} more (--json lists all)`);
  }
  for (const s of r.skipped.slice(0, LIMIT)) lines.push(`skipped ${s.system} ${s.dn}: ${s.reason}`);
  for (const e of r.errors) lines.push(`FAILED ${e.system} ${e.dn}: ${e.message}`);
  if (r.stopped) lines.push('STOPPED before writing anything:', ...r.stopped.map((s) => `  ${s}`), 'run again with --allow-deletes to let these deletions through once');
  const n = (a: { add: unknown[]; change: unknown[]; delete: unknown[] }) => `+${a.add.length} ~${a.change.length} -${a.delete.length}`;
  lines.push(`summary: people ${n(d.people)}, contacts ${n(d.contacts)}, conflicts ${d.conflicts.length}, writes ${r.writes.total} (directory ${r.writes.directory}, store ${r.writes.store})`);
  return lines.join('\n');
}

export function formatShow(r: ShowResult): string {
  if (!r.found || !r.record) return `${r.address}: not in the directory${r.conflicts.length ? `\nconflicts:\n${r.conflicts.map((c) => `  ${c.kind}: ${c.detail}`).join('\n')}` : ''}`;
  const u = r.record;
  const lines = [
    `${u.address}`,
    `  display name   ${u.displayName ?? '-'}`,
    `  aliases        ${u.aliases.join(' ') || '-'}`,
    `  home system    ${u.homeSystem}`,
    `  migration      ${u.migrationState}`,
    `  routing        -> ${r.routing?.system ?? u.homeSystem}: ${r.routing?.reason ?? ''}`,
  ];
  for (const [k, v] of Object.entries(u.attributes)) lines.push(`  ${k.padEnd(14)} ${String(v)}`);
  lines.push('sources:');
  for (const s of r.sources) {
    lines.push(`  ${s.system}  ${s.origins.dn ?? s.sourceId}${s.system === u.sourceSystem && s.sourceId === u.sourceId ? '  (record values come from here)' : ''}`);
    for (const [field, from] of Object.entries(s.origins)) if (field !== 'dn') lines.push(`    ${field.padEnd(14)} from ${from}`);
  }
  if (r.contacts.length) lines.push('contacts:', ...r.contacts.map((c) => `  ${c.system}  ${c.dn}`));
  if (r.conflicts.length) lines.push('conflicts:', ...r.conflicts.map((c) => `  ${c.kind}: ${c.detail}`));
  return lines.join('\n');
}
