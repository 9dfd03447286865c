/**
 * Reads a configuration file, parses its YAML keeping line numbers, validates
 * it against the schema and returns the resolved, deeply frozen Config. Every
 * problem (YAML syntax, schema, missing secrets) becomes a ConfigIssue with the
 * key path and, when the path maps to a YAML node, its line.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { MbError } from '../core/index.js';
import { ConfigErrors } from './errors.js';
import { friendlyMessage, unknownKeyReason } from './messages.js';
import { configSchema } from './schema.js';
import type { Config, ConfigIssue } from './types.js';
import { knownKeysAt } from './walk.js';

type Segment = PropertyKey;

function lineAt(lc: LineCounter, node: { range?: [number, number, number] | null } | null | undefined): number | undefined {
  return node?.range ? lc.linePos(node.range[0]).line : undefined;
}

/**
 * The line of the deepest YAML node along a key path: the key's own line for
 * a mapping entry, the parent key's line for a key that is missing, none for
 * a missing top-level key.
 */
export function lineOf(doc: Document, lc: LineCounter, path: readonly Segment[]): number | undefined {
  let node: unknown = doc.contents;
  let line = path.length === 0 ? lineAt(lc, node as Node | null) : undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return line;
      line = lineAt(lc, pair.key as Node) ?? line;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined) return line;
      line = lineAt(lc, item as Node) ?? line;
      node = item;
    } else {
      return line;
    }
  }
  return line;
}

const dotted = (path: readonly Segment[]): string => path.map(String).join('.');

function zodIssues(issues: readonly z.core.$ZodIssue[], file: string, doc: Document, lc: LineCounter): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: readonly Segment[], reason: string) => {
    const issue: ConfigIssue = { file, path: dotted(path), reason };
    const line = lineOf(doc, lc, path);
    if (line !== undefined) issue.line = line;
    if (!out.some((o) => o.path === issue.path && o.reason === reason)) out.push(issue);
  };
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      const known = knownKeysAt(iss.path);
      for (const key of iss.keys) add([...iss.path, key], unknownKeyReason(key, known));
    } else if (iss.code === 'invalid_key') {
      add(iss.path, iss.issues.map((i) => i.message).join('; '));
    } else {
      add(iss.path, iss.message);
    }
  }
  // Stable: issues without a line keep their order, after the others.
  return out.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}

/**
 * A key with an empty value ("gateway:" with everything below commented out)
 * means "not given": defaults apply, and a required key is reported missing.
 */
function dropEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropEmpty);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropEmpty(v);
  return out;
}

function invalid(file: string, issues: ConfigIssue[]): MbError {
  const message = issues.map(formatIssue).join('\n');
  return new MbError(ConfigErrors.CONFIG_INVALID, message, { details: { file, issues } });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Parses configuration text; `file` names it in messages and anchors relative paths. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const abs = resolve(file);
  const dir = dirname(abs);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw invalid(file, doc.errors.map((e) => {
      const pos = lc.linePos(e.pos[0]);
      return { file, path: '', reason: `YAML syntax error at column ${pos.col}: ${e.message}`, line: pos.line };
    }));
  }
  if (doc.contents === null) {
    throw invalid(file, [{ file, path: '', reason: 'the file is empty (it needs at least organization, domains and systems)' }]);
  }
  let raw: unknown;
  try {
    raw = dropEmpty(doc.toJS({ maxAliasCount: 1000 }));
  } catch (err) {
    throw invalid(file, [{ file, path: '', reason: `YAML error: ${(err as Error).message}` }]);
  }
  const schema = configSchema({ dir, env, readFile: (p) => readFileSync(p, 'utf8') });
  const result = schema.safeParse(raw, { error: friendlyMessage });
  if (!result.success) throw invalid(file, zodIssues(result.error.issues, file, doc, lc));
  return deepFreeze({ file: abs, dir, ...result.data });
}

/** Reads and parses a configuration file. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new MbError(ConfigErrors.CONFIG_NOT_FOUND, `${file}: configuration file not found`, { details: { file }, cause: err });
    }
    throw invalid(file, [{ file, path: '', reason: `cannot read the file (${typeof code === 'string' ? code : String(err)})` }]);
  }
  return parseConfig(text, file, env);
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path === '' ? `${where}: ${issue.reason}` : `${where}: ${issue.path}: ${issue.reason}`;
}

/** One line per issue: "mailbridge.yaml:12: systems.legacy.imap.port: expected a port number 1-65535, got \"abc\"". */
export function formatConfigError(err: MbError): string {
  const issues = err.details.issues;
  if (Array.isArray(issues)) return (issues as ConfigIssue[]).map(formatIssue).join('\n');
  return err.message;
}
