#!/usr/bin/env node
// The test command: finds every *.test.ts under src/ and test/, starts one shared
// lab of real servers (Dovecot x2, slapd, Radicale, Postfix, PostgreSQL) for the
// integration suites, runs node's own test runner, and stops the lab afterwards.
// `node scripts/test.mjs --unit` runs only the unit tests beside the code (no lab);
// other arguments keep only files whose path contains one of them, and
// --exclude=PART drops files whose path contains PART.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));
const excludes = args.filter((a) => a.startsWith('--exclude=')).map((a) => a.slice('--exclude='.length));

function find(dir) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = [...find('src'), ...(unitOnly ? [] : find('test'))].sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (excludes.length) files = files.filter((f) => !excludes.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no test files matched'); process.exit(1); }

const run = (cmd, argv, env) => new Promise((resolve) => {
  const child = spawn(cmd, argv, { stdio: 'inherit', env: { ...process.env, ...env } });
  child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
});

const needsLab = files.some((f) => f.startsWith('test/'));
const env = {};
let labDir;
if (needsLab && !process.env.MAILBRIDGE_LAB) {
  labDir = join(process.cwd(), '.lab', `test-${process.pid}`);
  const code = await run(process.execPath, ['--import', 'tsx', 'test/harness/lab-cli.ts', 'up', labDir]);
  if (code !== 0) { console.error('lab did not start'); process.exit(code); }
  env.MAILBRIDGE_LAB = labDir;
}
const code = await run(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files,
], env);
if (labDir) await run(process.execPath, ['--import', 'tsx', 'test/harness/lab-cli.ts', 'down', labDir]);
process.exit(code);
