/**
 * The Markdown configuration reference, generated from the schema so it can
 * never drift from what the loader accepts.
 */
import { leaves, schemaTree, type LeafInfo } from './walk.js';

const TYPE_NOTES: Record<string, string> = {
  duration: 'duration: "30s", "5m", "1h30m", "5d", or a number of seconds',
  size: 'size: "25MB", "512KiB" (KB/MB/GB powers of 1000, KiB/MiB/GiB of 1024), or a number of bytes',
  secret: 'secret: a string, `{ env: NAME }` (environment variable) or `{ file: PATH }` (file contents, trailing newline removed)',
  path: 'path: relative paths resolve against the configuration file\'s folder',
  cidr: 'cidr: an IP network such as `10.0.0.0/8` or `::1/128`; a bare address means that host',
  port: 'port: 1-65535',
};

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function row(l: LeafInfo): string {
  const def = l.defaultText !== undefined ? `\`${l.defaultText}\`` : l.required ? 'required' : '(none)';
  return `| \`${l.key}\` | ${cell(l.type)} | ${cell(def)} | ${cell(l.description)} |`;
}

/** Every leaf key path of the schema: systems.<name>.imap.port, gateway.listen[].port. */
export function configKeys(): string[] {
  return leaves(schemaTree().node).map((l) => l.key);
}

export function configReference(): string {
  const all = leaves(schemaTree().node);
  const sections = new Map<string, LeafInfo[]>();
  for (const l of all) {
    const top = l.key.split(/[.[]/)[0]!;
    sections.set(top, [...(sections.get(top) ?? []), l]);
  }
  const out: string[] = [
    '# Configuration reference',
    '',
    'Generated from the schema (`src/config/schema.ts`); do not edit by hand.',
    'Every mapping is strict: an unknown key is an error. `systems.<name>` is one entry per',
    'mail system (names: a-z first, then a-z, 0-9, `_`, `-`); `[]` marks the items of a list.',
    '',
    ...Object.values(TYPE_NOTES).map((n) => `- ${n}`),
    '',
  ];
  for (const [name, rows] of sections) {
    out.push(`## ${name}`, '', '| key | type | default | description |', '|-----|------|---------|-------------|');
    out.push(...rows.map(row), '');
  }
  return out.join('\n');
}
