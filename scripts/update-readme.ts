/**
 * Regenerates the configuration reference in README.md from the schema
 * (`npm run docs`). test/integration/docs/readme.test.ts fails when they differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference } from '../src/config/index.js';

export const START = '<!-- config-reference:start -->';
export const END = '<!-- config-reference:end -->';

export function withReference(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('README.md has no config-reference markers');
  // The README already has its own heading for this section.
  const body = configReference().trim().replace(/^# Configuration reference\n+/, "");
  return `${readme.slice(0, a + START.length)}\n${body}\n${readme.slice(b)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, withReference(readFileSync(path, 'utf8')));
  console.log('README.md: configuration reference updated');
}
