#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` has produced dist/, otherwise the
// TypeScript sources through tsx (the development and demo path).
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(dist)) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
