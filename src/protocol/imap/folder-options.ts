/**
 * MappingOptions: their type, validation as a value, and the compiled form the
 * planner works with (regexes built once, target special-use folders parsed).
 */
import { DEFAULT_SPECIAL_USE_NAMES, SPECIAL_USES, type SpecialUse } from './special-use.js';
import { decodeWireName, escapeComponent, isInboxName, splitPath } from './folder-path.js';

export interface FolderRule {
  /** Regex over the whole UTF-8 display path ("/" between levels); anchored: it must match all of it. */
  from: string;
  /** Replacement with $1..$9, $<name>, $& and $$ (String.prototype.replace); "/" separates levels. */
  to: string;
}

export interface MappingOptions {
  sourceDelimiter: string | null;
  /** Namespace prefix as the server writes it, e.g. "INBOX." (Courier, Cyrus) or "". */
  sourcePrefix: string;
  targetDelimiter: string;
  targetPrefix: string;
  /** Wire paths of the target's special-use folders, from its LIST (RFC 6154). */
  targetSpecialUse: Partial<Record<SpecialUse, string>>;
  /** Tried in order; the first whose `from` matches decides; a rule wins over automatic mapping. */
  rules?: FolderRule[];
  /** Exact names or anchored regexes over the source's UTF-8 display path. */
  include?: string[];
  exclude?: string[];
  /** The target has UTF8=ACCEPT (RFC 6855): target names stay UTF-8. */
  utf8Target?: boolean;
  /** The source has UTF8=ACCEPT enabled: listed names are UTF-8, not modified UTF-7. */
  utf8Source?: boolean;
  /** The target compares names case-insensitively (Exchange/M365): "Foo" and "foo" collide. */
  caseInsensitiveTarget?: boolean;
}

/** A target path: components under the target prefix, or from the root (`rooted`: INBOX and its children). */
export interface TargetPath {
  components: string[];
  rooted: boolean;
}

export interface Matcher {
  pattern: string;
  test(display: string): boolean;
}

export interface CompiledOptions {
  opts: MappingOptions;
  rules: { from: string; re: RegExp; to: string }[];
  include: Matcher[];
  exclude: Matcher[];
  /** The decoded target prefix, for comparison keys. */
  targetPrefixText: string;
  /** Where each use goes on the target: its LIST, else the English default under the prefix. */
  specialTargets: ReadonlyMap<SpecialUse, TargetPath>;
  /** Uses the target itself announced, by comparison key: landing there merges. */
  announced: ReadonlyMap<string, SpecialUse>;
}

export type OptionsCheck = { ok: true } | { ok: false; reasons: string[] };

function compileAnchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern.normalize('NFC')})$`, 'u');
}

function regexError(pattern: string): string | undefined {
  try {
    compileAnchored(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Checks options without planning: config validation calls this to name the bad key. */
export function validateMappingOptions(opts: MappingOptions): OptionsCheck {
  const reasons: string[] = [];
  if (opts.sourceDelimiter !== null && opts.sourceDelimiter.length !== 1) {
    reasons.push(`sourceDelimiter must be one character or null, got ${JSON.stringify(opts.sourceDelimiter)}`);
  }
  if (typeof opts.targetDelimiter !== 'string' || opts.targetDelimiter.length !== 1) {
    reasons.push(`targetDelimiter must be one character, got ${JSON.stringify(opts.targetDelimiter)}`);
  }
  for (const [i, rule] of (opts.rules ?? []).entries()) {
    const bad = regexError(rule.from);
    if (bad !== undefined) reasons.push(`rules[${i}].from ${JSON.stringify(rule.from)} is not a valid regex: ${bad}`);
  }
  for (const key of Object.keys(opts.targetSpecialUse ?? {})) {
    if (!(SPECIAL_USES as readonly string[]).includes(key)) reasons.push(`targetSpecialUse: unknown use ${JSON.stringify(key)}`);
  }
  return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
}

/** Include/exclude: an exact name, or an anchored regex; a pattern that is no valid regex is only a name. */
function matcher(pattern: string): Matcher {
  const exact = pattern.normalize('NFC');
  const re = regexError(pattern) === undefined ? compileAnchored(pattern) : undefined;
  return { pattern, test: (display) => display === exact || (re !== undefined && re.test(display)) };
}

/** Normalizes a target path: NFC, delimiter escaped, "INBOX" upper-cased and rooted (RFC 3501 5.1). */
export function makeTarget(components: readonly string[], rooted: boolean, delimiter: string): TargetPath {
  const comps = components.map((c) => escapeComponent(c.normalize('NFC'), delimiter));
  if (isInboxName(comps[0])) {
    comps[0] = 'INBOX';
    return { components: comps, rooted: true };
  }
  return { components: comps, rooted };
}

/** Comparison key of a target path, as the target server will see the name. */
export function targetKey(t: TargetPath, c: CompiledOptions): string {
  const s = (t.rooted ? '' : c.targetPrefixText) + t.components.join(c.opts.targetDelimiter);
  return c.opts.caseInsensitiveTarget ? s.toLowerCase() : s;
}

function startsWithPrefix(name: string, prefix: string): boolean {
  if (prefix === '' || name.length <= prefix.length) return false;
  if (name.startsWith(prefix)) return true;
  // The INBOX part of an "INBOX." prefix is case-insensitive like INBOX itself.
  return isInboxName(prefix.slice(0, 5)) && isInboxName(name.slice(0, 5)) && name.slice(5).startsWith(prefix.slice(5));
}

/** Removes the namespace prefix from a wire name; `stripped` says whether it was there. */
export function stripPrefix(name: string, prefix: string): { rest: string; stripped: boolean } {
  return startsWithPrefix(name, prefix) ? { rest: name.slice(prefix.length), stripped: true } : { rest: name, stripped: false };
}

/** A target wire path from the target's LIST, as a TargetPath. */
export function parseTargetWire(wire: string, opts: MappingOptions): TargetPath {
  const { rest, stripped } = stripPrefix(wire, opts.targetPrefix);
  const text = decodeWireName(rest, opts.utf8Target === true).text;
  const { components } = splitPath(text, opts.targetDelimiter);
  return makeTarget(components, !stripped && opts.targetPrefix !== '', opts.targetDelimiter);
}

export function compileOptions(opts: MappingOptions): CompiledOptions {
  const c: CompiledOptions = {
    opts,
    rules: (opts.rules ?? []).map((r) => ({ from: r.from, re: compileAnchored(r.from), to: r.to })),
    include: (opts.include ?? []).map(matcher),
    exclude: (opts.exclude ?? []).map(matcher),
    targetPrefixText: decodeWireName(opts.targetPrefix, opts.utf8Target === true).text,
    specialTargets: new Map(),
    announced: new Map(),
  };
  const specialTargets = new Map<SpecialUse, TargetPath>();
  const announced = new Map<string, SpecialUse>();
  for (const use of SPECIAL_USES) {
    const wire = opts.targetSpecialUse?.[use];
    const t = wire !== undefined
      ? parseTargetWire(wire, opts)
      : makeTarget([DEFAULT_SPECIAL_USE_NAMES[use]], false, opts.targetDelimiter);
    specialTargets.set(use, t);
    const key = targetKey(t, c);
    if (wire !== undefined && !announced.has(key)) announced.set(key, use);
  }
  return { ...c, specialTargets, announced };
}
