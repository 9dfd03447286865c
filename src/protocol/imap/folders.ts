/**
 * The folder-mapping engine: which source folder goes to which target folder,
 * and why. Pure: the same folders and options give the same plan, whatever the
 * order of the input.
 *
 * Order of decisions for each source folder (display path = UTF-8, namespace
 * prefix removed, "/" between levels, INBOX upper-cased):
 *   1. skipped: \Noselect or \NonExistent (RFC 5258), then exclude, then include;
 *   2. the first user rule whose regex matches the whole display path (a rule
 *      wins over every automatic mapping, INBOX included);
 *   3. INBOX (any case) -> INBOX;
 *   4. an RFC 6154 special-use attribute, at any depth (Gmail's "[Gmail]/Sent Mail");
 *   5. a localized special-use name, top level only (after the prefix: "INBOX.Sent"
 *      on a Courier source); "Entwürfe" is Drafts there, an ordinary folder below;
 *   6. otherwise the same name, placed under the target's mapping of its nearest
 *      mapped ancestor, so a subtree moves with its parent ("Sent Items/2019" ->
 *      "Sent/2019").
 * Then names are settled level by level (shallow target paths first): several
 * sources on a special-use target (announced by the target, or chosen by a
 * special-use source) merge into it; several ordinary sources on one name keep
 * apart, the first (INBOX, then an unchanged name, then one changed only by
 * delimiter escaping, then a moved one; ties by code-unit order of the source
 * path) keeps the name and the others get " (2)", " (3)"... on the last level.
 */
import { MbError } from '../../core/index.js';
import { ImapErrors } from './errors.js';
import { compareCodeUnits, decodeWireName, displayPath, encodeWireName, isInboxName, splitPath } from './folder-path.js';
import {
  compileOptions, makeTarget, stripPrefix, targetKey, validateMappingOptions,
  type CompiledOptions, type MappingOptions, type TargetPath,
} from './folder-options.js';
import { SPECIAL_USES, specialUseByName, specialUseFromAttributes, type SpecialUse } from './special-use.js';

export interface SourceFolder {
  /** Raw name as the server lists it: modified UTF-7 unless UTF8=ACCEPT. */
  path: string;
  delimiter: string | null;
  /** '\\Sent' etc. from LIST (RFC 6154). */
  specialUse?: string;
  /** \Noselect, \NonExistent, \HasChildren, and special-use attributes if the server put them here. */
  flags?: string[];
  subscribed?: boolean;
}

export interface FolderMapping {
  source: string;
  /** Wire name for the target (modified UTF-7 unless utf8Target). */
  target: string;
  /** UTF-8, "/" between levels, without the namespace prefixes. */
  display: { source: string; target: string };
  reason: 'special-use' | 'localized-name' | 'rule' | 'same-name' | 'inbox';
  specialUse?: SpecialUse;
  /** Several sources go into this one special-use target. */
  merged?: boolean;
  subscribed?: boolean;
  /** The ancestor (source path) whose move this folder follows. */
  movedWith?: string;
  /** The target this folder would have had, before a collision gave it a suffix. */
  renamedFrom?: string;
}

export interface MappingPlan {
  mappings: FolderMapping[];
  /** Excluded, not included, \Noselect, \NonExistent. */
  skipped: { source: string; reason: string }[];
  /** Ordinary folders that wanted one target; the first keeps it, the others are suffixed. */
  collisions: { target: string; sources: string[] }[];
  merges: { target: string; sources: string[]; specialUse: SpecialUse }[];
  /** Mapped, but worth a look: a name that is not valid modified UTF-7, a folder listed twice. */
  warnings: { source: string; reason: string }[];
}

type Reason = FolderMapping['reason'];

interface Entry {
  folder: SourceFolder;
  /** Source path below the namespace prefix, decoded, NFC. */
  comps: string[];
  /** The namespace prefix was removed: a first level "INBOX" here is not the INBOX. */
  stripped: boolean;
  display: string;
  /** Display of the target this folder gets when nothing moves it (its name, delimiter escaped). */
  natural: string;
  reason: Reason;
  specialUse?: SpecialUse;
  /** Set for rule, inbox and special-use decisions. */
  explicit?: TargetPath;
  base?: { entry: Entry; rest: string[] };
  target?: TargetPath;
  merged?: boolean;
  renamedFrom?: string;
}

interface Context {
  c: CompiledOptions;
  plan: MappingPlan;
}

const SKIP_FLAGS: ReadonlyMap<string, string> = new Map([['\\noselect', '\\Noselect'], ['\\nonexistent', '\\NonExistent']]);

/** One folder per path: a server that lists a name twice gets its attributes united. */
function canonicalize(source: readonly SourceFolder[], plan: MappingPlan): SourceFolder[] {
  const byPath = new Map<string, SourceFolder>();
  for (const f of source) {
    const seen = byPath.get(f.path);
    if (seen === undefined) {
      byPath.set(f.path, { ...f, flags: [...(f.flags ?? [])] });
      continue;
    }
    const uses = [seen.specialUse, f.specialUse].filter((u): u is string => u !== undefined);
    byPath.set(f.path, {
      path: f.path,
      delimiter: seen.delimiter ?? f.delimiter,
      specialUse: specialUseFromAttributes(uses) ?? [...uses].sort(compareCodeUnits)[0],
      flags: [...new Set([...(seen.flags ?? []), ...(f.flags ?? [])])].sort(compareCodeUnits),
      subscribed: seen.subscribed === true || f.subscribed === true ? true : seen.subscribed ?? f.subscribed,
    });
  }
  const dupes = new Set(source.map((f) => f.path).filter((p, i, all) => all.indexOf(p) !== i));
  for (const p of dupes) plan.warnings.push({ source: p, reason: 'listed more than once; attributes united' });
  return [...byPath.values()].sort((a, b) => compareCodeUnits(a.path, b.path));
}

/** Decodes and splits one source name; undefined when it is skipped. */
function toEntry(f: SourceFolder, ctx: Context): Entry | undefined {
  const { opts } = ctx.c;
  const { rest, stripped } = stripPrefix(f.path, opts.sourcePrefix);
  const name = decodeWireName(rest, opts.utf8Source === true);
  if (name.invalid !== undefined) {
    ctx.plan.warnings.push({ source: f.path, reason: `not valid modified UTF-7 (${name.invalid}); name taken literally` });
  }
  // A folder's own delimiter wins; NIL on one LIST line falls back to the namespace's.
  const { components: comps, dropped } = splitPath(name.text, f.delimiter ?? opts.sourceDelimiter);
  if (dropped > 0 && comps.length > 0) ctx.plan.warnings.push({ source: f.path, reason: 'empty hierarchy levels dropped' });
  if (!stripped && isInboxName(comps[0])) comps[0] = 'INBOX';
  const display = displayPath(comps);
  const skip = skipReason(f, comps, display, ctx.c);
  if (skip !== undefined) {
    ctx.plan.skipped.push({ source: f.path, reason: skip });
    return undefined;
  }
  const natural = displayPath(makeTarget(comps, false, opts.targetDelimiter).components);
  return { folder: f, comps, stripped, display, natural, reason: 'same-name' };
}

function skipReason(f: SourceFolder, comps: string[], display: string, c: CompiledOptions): string | undefined {
  for (const flag of f.flags ?? []) {
    const skip = SKIP_FLAGS.get(flag.toLowerCase());
    if (skip !== undefined) return `${skip}: holds no messages`;
  }
  if (comps.length === 0) return 'empty name';
  const ex = c.exclude.find((m) => m.test(display));
  if (ex !== undefined) return `excluded by ${JSON.stringify(ex.pattern)}`;
  if (c.include.length > 0 && !c.include.some((m) => m.test(display))) return 'not included';
  return undefined;
}

/** Steps 2-5 of the order in the header; false when a rule produced an empty name. */
function decide(e: Entry, ctx: Context): boolean {
  const { c } = ctx;
  const delim = c.opts.targetDelimiter;
  const rule = c.rules.find((r) => r.re.test(e.display));
  if (rule !== undefined) {
    const out = e.display.replace(rule.re, rule.to).normalize('NFC');
    const { components } = splitPath(out, '/');
    if (components.length === 0) {
      ctx.plan.skipped.push({ source: e.folder.path, reason: `rule ${JSON.stringify(rule.from)} produced an empty name` });
      return false;
    }
    e.reason = 'rule';
    e.explicit = makeTarget(components, false, delim);
    return true;
  }
  if (!e.stripped && e.comps.length === 1 && e.comps[0] === 'INBOX') {
    e.reason = 'inbox';
    e.explicit = makeTarget(['INBOX'], true, delim);
    return true;
  }
  const attrs = [...(e.folder.specialUse === undefined ? [] : [e.folder.specialUse]), ...(e.folder.flags ?? [])];
  const byAttr = specialUseFromAttributes(attrs);
  const byName = e.comps.length === 1 ? specialUseByName(e.comps[0]!) : undefined;
  const use = byAttr ?? byName;
  if (use !== undefined) {
    e.reason = byAttr !== undefined ? 'special-use' : 'localized-name';
    e.specialUse = use;
    e.explicit = c.specialTargets.get(use)!;
  }
  return true;
}

/** Links each same-name folder to its nearest mapped ancestor, whose target it will follow. */
function linkAncestors(entries: Entry[]): void {
  const byComps = new Map<string, Entry>();
  for (const e of entries) {
    const k = e.comps.join('\u0000');
    if (!byComps.has(k)) byComps.set(k, e);
  }
  for (const e of entries) {
    if (e.explicit !== undefined) continue;
    for (let i = e.comps.length - 1; i >= 1; i--) {
      const parent = byComps.get(e.comps.slice(0, i).join('\u0000'));
      if (parent !== undefined && parent !== e) {
        e.base = { entry: parent, rest: e.comps.slice(i) };
        break;
      }
    }
  }
}

/** The target an entry wants now, from its decision or its ancestor's current target. */
function wanted(e: Entry, c: CompiledOptions, targetOf: (x: Entry) => TargetPath): TargetPath {
  if (e.explicit !== undefined) return e.explicit;
  const delim = c.opts.targetDelimiter;
  if (e.base === undefined) return makeTarget(e.comps, false, delim);
  const parent = targetOf(e.base.entry);
  return makeTarget([...parent.components, ...e.base.rest], parent.rooted, delim);
}

function provisionalTargets(entries: Entry[], c: CompiledOptions): Map<Entry, TargetPath> {
  const prov = new Map<Entry, TargetPath>();
  // Ancestors have fewer components, so a stable sort by depth computes them first.
  const byDepth = [...entries].sort((a, b) => a.comps.length - b.comps.length);
  for (const e of byDepth) prov.set(e, wanted(e, c, (x) => prov.get(x)!));
  return prov;
}

function wireOf(t: TargetPath, c: CompiledOptions): string {
  const { opts } = c;
  return (t.rooted ? '' : opts.targetPrefix) + encodeWireName(t.components.join(opts.targetDelimiter), opts.utf8Target === true);
}

function isMoved(e: Entry): boolean {
  return e.target !== undefined && displayPath(e.target.components) !== e.natural;
}

/** Who keeps a contested name: INBOX, then a name left as it was, then one only escaped, then a moved one. */
function rank(e: Entry): number {
  if (e.reason === 'inbox') return 0;
  if (isMoved(e)) return 3;
  return e.natural === e.display ? 1 : 2;
}

export { validateMappingOptions };
export type { MappingOptions };

/** Plans where every source folder goes on the target. Throws MbError only for invalid options. */
export function planFolders(source: SourceFolder[], opts: MappingOptions): MappingPlan {
  const check = validateMappingOptions(opts);
  if (!check.ok) {
    throw new MbError(ImapErrors.IMAP_MAPPING_OPTIONS_INVALID, `folder mapping options: ${check.reasons.join('; ')}`, {
      details: { reasons: check.reasons },
    });
  }
  const c = compileOptions(opts);
  const plan: MappingPlan = { mappings: [], skipped: [], collisions: [], merges: [], warnings: [] };
  const ctx: Context = { c, plan };
  const entries = canonicalize(source, plan)
    .map((f) => toEntry(f, ctx))
    .filter((e): e is Entry => e !== undefined && decide(e, ctx));
  linkAncestors(entries);
  settle(entries, c, plan);
  plan.mappings = entries.map((e) => toMapping(e, c)).sort(
    (a, b) => Number(b.reason === 'inbox') - Number(a.reason === 'inbox') || compareCodeUnits(a.source, b.source),
  );
  plan.skipped.sort((a, b) => compareCodeUnits(a.source, b.source));
  plan.collisions.sort((a, b) => compareCodeUnits(a.target, b.target));
  plan.merges.sort((a, b) => compareCodeUnits(a.target, b.target));
  plan.warnings.sort((a, b) => compareCodeUnits(a.source, b.source) || compareCodeUnits(a.reason, b.reason));
  return plan;
}

/** Gives every entry its final target, level by level (see the header). */
function settle(entries: Entry[], c: CompiledOptions, plan: MappingPlan): void {
  const prov = provisionalTargets(entries, c);
  const delim = c.opts.targetDelimiter;
  const depthOf = (e: Entry): number => targetKey(prov.get(e)!, c).split(delim).length;
  const depths = [...new Set(entries.map(depthOf))].sort((a, b) => a - b);
  const taken = new Set<string>();
  for (const depth of depths) {
    const level = entries.filter((e) => depthOf(e) === depth);
    const groups = new Map<string, Entry[]>();
    for (const e of level) {
      e.target = wanted(e, c, (x) => x.target!);
      const key = targetKey(e.target, c);
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    const reserved = new Set([...taken, ...groups.keys()]);
    for (const key of [...groups.keys()].sort(compareCodeUnits)) {
      settleGroup(key, groups.get(key)!, { c, plan, reserved });
      taken.add(key);
    }
    for (const k of reserved) taken.add(k);
  }
}

function settleGroup(key: string, members: Entry[], g: { c: CompiledOptions; plan: MappingPlan; reserved: Set<string> }): void {
  const { c, plan, reserved } = g;
  members.sort((a, b) => rank(a) - rank(b) || compareCodeUnits(a.folder.path, b.folder.path));
  const uses = members.map((m) => m.specialUse).filter((u): u is SpecialUse => u !== undefined);
  const use = c.announced.get(key) ?? SPECIAL_USES.find((u) => uses.includes(u));
  if (use !== undefined) {
    for (const m of members) m.specialUse ??= use;
    if (members.length > 1) {
      for (const m of members) m.merged = true;
      const sources = members.map((m) => m.folder.path).sort(compareCodeUnits);
      plan.merges.push({ target: wireOf(members[0]!.target!, c), sources, specialUse: use });
    }
    return;
  }
  if (members.length === 1) return;
  const contested = members[0]!.target!;
  plan.collisions.push({ target: wireOf(contested, c), sources: members.map((m) => m.folder.path) });
  for (const m of members.slice(1)) {
    const comps = contested.components;
    const last = comps[comps.length - 1]!;
    for (let n = 2; ; n++) {
      const t = makeTarget([...comps.slice(0, -1), `${last} (${n})`], contested.rooted, c.opts.targetDelimiter);
      const k = targetKey(t, c);
      if (reserved.has(k)) continue;
      reserved.add(k);
      m.renamedFrom = wireOf(contested, c);
      m.target = t;
      break;
    }
  }
}

function movedWith(e: Entry): string | undefined {
  const parent = e.base?.entry;
  if (parent === undefined || !isMoved(parent)) return undefined;
  return movedWith(parent) ?? parent.folder.path;
}

function toMapping(e: Entry, c: CompiledOptions): FolderMapping {
  const t = e.target!;
  const m: FolderMapping = {
    source: e.folder.path,
    target: wireOf(t, c),
    display: { source: e.display, target: displayPath(t.components) },
    reason: e.reason,
  };
  if (e.specialUse !== undefined) m.specialUse = e.specialUse;
  if (e.merged === true) m.merged = true;
  if (e.folder.subscribed !== undefined) m.subscribed = e.folder.subscribed;
  const via = movedWith(e);
  if (via !== undefined) m.movedWith = via;
  if (e.renamedFrom !== undefined) m.renamedFrom = e.renamedFrom;
  return m;
}
