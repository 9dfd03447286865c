/**
 * The value types of the configuration file (durations, sizes, ports, paths,
 * secrets, networks, ...) as zod schemas, each documented in `docs` so that
 * the reference, the key list and printConfig can be generated from the
 * schema itself.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration, parseSize, Secret } from '../core/index.js';
import { kindOf, REQUIRED, show, unknownKeyReason } from './messages.js';

/** What the schema needs from the outside world; load.ts supplies it. */
export interface SchemaContext {
  /** the configuration file's folder: relative paths resolve against it */
  dir: string;
  env: NodeJS.ProcessEnv;
  /** reads a secret file (absolute path); throws when it cannot */
  readFile(path: string): string;
}

/** Leaf kinds that printConfig and the reference treat specially. */
export type FieldType =
  | 'duration' | 'size' | 'port' | 'path' | 'secret' | 'cidr' | 'domain'
  | 'host' | 'url' | 'regex' | 'address' | 'postgres';

export interface FieldDoc {
  description?: string;
  /** overrides the type derived from the zod definition (and makes the node a leaf) */
  type?: FieldType;
  /** placeholder for the keys of a record in key paths: systems.<name> */
  keyName?: string;
}

export const docs = z.registry<FieldDoc>();

export function doc<T extends z.ZodType>(schema: T, description: string, extra: Omit<FieldDoc, 'description'> = {}): T {
  docs.add(schema, { description, ...extra });
  return schema;
}

type Ctx = z.core.$RefinementCtx;

function fail(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/** Duration: "30s", "1h30m", "5d", or a number of seconds; resolves to milliseconds. */
export function duration(description: string, opts: { allowZero?: boolean } = {}) {
  const schema = z.unknown().transform((v, ctx): number => {
    if (v === undefined) return fail(ctx, REQUIRED);
    if (typeof v !== 'string' && typeof v !== 'number') {
      return fail(ctx, `expected a duration such as 30s, 5m or 1h30m, got ${show(v)}`);
    }
    const r = parseDuration(v);
    if (!r.ok) return fail(ctx, r.reason);
    if (r.value === 0 && !opts.allowZero) return fail(ctx, 'must be longer than 0');
    return r.value;
  });
  return doc(schema, description, { type: 'duration' });
}

/** Size: "25MB", "512KiB", or a number of bytes; resolves to bytes. */
export function size(description: string) {
  const schema = z.unknown().transform((v, ctx): number => {
    if (v === undefined) return fail(ctx, REQUIRED);
    if (typeof v !== 'string' && typeof v !== 'number') {
      return fail(ctx, `expected a size such as 25MB or 512KiB, got ${show(v)}`);
    }
    const r = parseSize(v);
    if (!r.ok) return fail(ctx, r.reason);
    return r.value;
  });
  return doc(schema, description, { type: 'size' });
}

export function port(description: string) {
  const message = (iss: { input?: unknown }) =>
    iss.input === undefined ? REQUIRED : `expected a port number 1-65535, got ${show(iss.input).replace(/^string /, '')}`;
  const schema = z.number({ error: message }).int({ error: message }).min(1, { error: message }).max(65535, { error: message });
  return doc(schema, description, { type: 'port' });
}

export function int(description: string, min: number, max: number) {
  return doc(z.number().int().min(min).max(max), description);
}

/** A non-empty string. */
export function text(description: string) {
  return doc(z.string().min(1), description);
}

/** A file or folder; relative to the configuration file's folder. */
export function path(ctx: SchemaContext, description: string) {
  return doc(z.string().min(1).transform((p) => resolve(ctx.dir, p)), description, { type: 'path' });
}

export function host(description: string) {
  const schema = z.string().min(1).refine((h) => /^[^\s/:]+$/.test(h) || isIP(h) === 6, {
    error: (iss) => `expected a host name or IP address (no scheme, no port), got ${show(iss.input)}`,
  });
  return doc(schema, description, { type: 'host' });
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

export function isDomain(d: string): boolean {
  return DOMAIN.test(d);
}

/** A domain name, lower-cased (IDNs in their xn-- form). */
export function domain(description: string) {
  const schema = z.string().transform((d, ctx) => {
    const lower = d.trim().toLowerCase();
    return isDomain(lower) ? lower : fail(ctx, `${show(d)} is not a valid domain name (IDNs in their xn-- form)`);
  });
  return doc(schema, description, { type: 'domain' });
}

export function address(description: string) {
  const schema = z.string().transform((a, ctx) => {
    const at = a.lastIndexOf('@');
    const dom = a.slice(at + 1).toLowerCase();
    return at > 0 && isDomain(dom) ? `${a.slice(0, at)}@${dom}` : fail(ctx, `${show(a)} is not a mail address (local@domain)`);
  });
  return doc(schema, description, { type: 'address' });
}

/** "10.0.0.0/8", "2001:db8::/32"; a bare address means that host alone (/32, /128). */
export function cidr(description: string) {
  const schema = z.string().transform((c, ctx) => {
    const [ip = '', prefix, ...rest] = c.trim().split('/');
    const family = isIP(ip);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || rest.length > 0) return fail(ctx, `${show(c)} is not an IP network (examples: 10.0.0.0/8, ::1/128)`);
    if (prefix === undefined) return `${ip}/${max}`;
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits <= max)) return fail(ctx, `${show(c)}: the prefix length must be 0-${max}`);
    return `${ip}/${bits}`;
  });
  return doc(schema, description, { type: 'cidr' });
}

export function url(description: string, schemes: readonly string[]) {
  const names = schemes.map((s) => `${s}://`).join(' or ');
  const schema = z.string().refine((u) => {
    try {
      return schemes.includes(new URL(u).protocol.replace(/:$/, ''));
    } catch {
      return false;
    }
  }, { error: (iss) => `expected an ${names} URL, got ${show(iss.input)}` });
  return doc(schema, description, { type: 'url' });
}

export function regex(description: string) {
  const schema = z.string().superRefine((r, ctx) => {
    try {
      new RegExp(r, 'u');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });
  return doc(schema, description, { type: 'regex' });
}

export function postgresUrl(description: string) {
  const schema = z.string().refine((u) => /^postgres(ql)?:\/\/\S+$/.test(u), {
    error: 'expected a postgres:// or postgresql:// connection URL',
  });
  return doc(schema, description, { type: 'postgres' });
}

function readSecretFile(ctx: SchemaContext, zc: Ctx, file: unknown): Secret {
  if (typeof file !== 'string' || file === '') {
    zc.addIssue({ code: 'custom', message: `expected a file path in { file: PATH }, got ${show(file)}`, path: ['file'] });
    return z.NEVER;
  }
  const abs = resolve(ctx.dir, file);
  let value: string;
  try {
    value = ctx.readFile(abs).replace(/[\r\n]+$/, '');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return fail(zc, `cannot read the secret file ${abs}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  return new Secret(value, 'file', `file:${abs}`);
}

function readSecretEnv(ctx: SchemaContext, zc: Ctx, name: unknown): Secret {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    zc.addIssue({ code: 'custom', message: `expected an environment variable name in { env: NAME }, got ${show(name)}`, path: ['env'] });
    return z.NEVER;
  }
  const value = ctx.env[name];
  if (value === undefined) return fail(zc, `the environment variable ${name} is not set`);
  if (value === '') return fail(zc, `the environment variable ${name} is empty`);
  return new Secret(value, 'env', `env:${name}`);
}

/**
 * A password or token: a literal string, { env: NAME } or { file: PATH }.
 * The literal is never echoed in a message: only its kind.
 */
export function secret(ctx: SchemaContext, description: string) {
  const schema = z.unknown().transform((v, zc): Secret => {
    if (v === undefined) return fail(zc, REQUIRED);
    if (typeof v === 'string') return new Secret(v, 'literal', 'literal');
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      return fail(zc, `expected a string, { env: NAME } or { file: PATH }, got ${kindOf(v)} (quote numeric passwords)`);
    }
    const keys = Object.keys(v);
    for (const k of keys.filter((k) => k !== 'env' && k !== 'file')) {
      zc.addIssue({ code: 'custom', message: unknownKeyReason(k, ['env', 'file']), path: [k] });
    }
    const rec = v as Record<string, unknown>;
    if ('env' in rec && 'file' in rec) return fail(zc, 'give either { env: NAME } or { file: PATH }, not both');
    if ('env' in rec) return readSecretEnv(ctx, zc, rec.env);
    if ('file' in rec) return readSecretFile(ctx, zc, rec.file);
    return fail(zc, 'expected { env: NAME } or { file: PATH }');
  });
  return doc(schema, description, { type: 'secret' });
}
