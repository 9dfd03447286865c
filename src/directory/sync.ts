/**
 * One directory sync run: read the sources (read.ts: whole, or only what
 * changed since the last run), the contacts containers likewise, compute the
 * plan against the store, stop on the deletion guard, then write only what
 * differs (contacts first, then the store in one transaction). Every run is
 * recorded in the store's runs (kind `directory`).
 */
import { MbError, describeError } from '../core/index.js';
import type { DirectoryConfig, SystemConfig } from '../config/index.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import type { Store } from '../store/index.js';
import { DirectoryErrors } from './errors.js';
import { checkDeleteGuard } from './guard.js';
import { fullReadReason, sourceFingerprint } from './incremental.js';
import { eachLimited, type LdapDirectory, type LdapOptions } from './ldap.js';
import { attributeMap } from './mapping.js';
import {
  computePlan, contactKey, contactsToVerify, deleteCounts, knownContact, unifyInput, type ContactWrite, type Plan, type PlanInput, type StoredUserLite,
} from './plan.js';
import { contactsDns, everyContactsReadByChange, newSources, readSources, type Sources } from './read.js';
import { NeedsFullUnify, buildScope, loadCompact } from './scoped.js';
import { applyToStore, loadSources, loadState, type SourceState } from './state.js';
import type { ContactTarget } from './contacts.js';
import type { ExistingContact, SyncDiff } from './types.js';
import type { RoutingRules } from './unify.js';

export interface DirectorySettings {
  systems: Readonly<Record<string, SystemConfig>>;
  directory: DirectoryConfig;
  migration?: { readonly to: string };
}

export interface SyncDeps {
  store: Store;
  log: Logger;
  metrics?: Metrics;
  settings: DirectorySettings;
  ldap?: LdapOptions;
  now?: () => number;
}

export interface SyncOptions {
  dryRun?: boolean;
  allowDeletes?: boolean;
  /** Read every source and contacts container whole, as a first run does. */
  full?: boolean;
}

/** How one system was read in a run. */
export interface SourceRead {
  mode: 'full' | 'incremental';
  /** Why the read was full. */
  reason?: string;
  /** Person entries read whole (an incremental run lists the others by name and mark only). */
  people: number;
  /** Contact objects read whole. */
  contacts: number;
  /** An incremental read by change (delta.ts): the filter clause that asked for the changed entries. */
  since?: string;
}

export interface SyncWrites {
  /** Objects written in the systems' directories (contacts added, changed, deleted). */
  directory: number;
  /**
   * Rows written in the store (users, source entries, contact rows, conflicts,
   * a source's read state). A run that only moves a source's read position
   * (its high change mark) stores it without counting it here.
   */
  store: number;
  total: number;
}

export interface SyncResult {
  runId: string;
  status: 'ok' | 'dry-run' | 'stopped' | 'partial';
  diff: SyncDiff;
  writes: SyncWrites;
  /** Why the guard stopped the run. */
  stopped?: string[];
  /** Contacts that could not be written (the run went on). */
  errors: { system: string; dn: string; message: string }[];
  /** Source entries without a usable address. */
  skipped: { system: string; dn: string; reason: string }[];
  /** Per LDAP system: full or incremental read, and how much was read whole. */
  reads: Record<string, SourceRead>;
  /** Wall time per phase in ms: load (store state), read (sources), scope (scoped runs), plan, directory (writes), store (writes). */
  timings: Record<string, number>;
  /**
   * A scoped run (scoped.ts): how many addresses were re-unified, the rest of
   * the directory being unchanged. Absent when the run unified everything.
   */
  scoped?: { addresses: number; entries: number };
}

/**
 * Whether this run can be scoped (scoped.ts): every source an LDAP source that
 * reads incrementally (a known, current starting point, no daily full read due).
 */
function canScope(deps: SyncDeps, sources: ReadonlyMap<string, SourceState>, full: boolean): boolean {
  if (full) return false;
  const systems = Object.values(deps.settings.systems);
  const exclude = contactsDns(systems);
  const now = (deps.now ?? Date.now)();
  return systems.every((s) => s.ldap !== undefined
    && fullReadReason(sources.get(s.name), sourceFingerprint(s.ldap, attributeMap(s.ldap.flavor, s.ldap.attributes ?? {}), exclude), now, false) === null);
}

interface Prepared {
  plan: Plan;
  storedUsers: ReadonlyMap<string, StoredUserLite>;
  src: Sources;
  scoped?: SyncResult['scoped'];
}

/** A scoped run's plan; null when the run must read and unify everything (NeedsFullUnify). */
async function prepareScoped(deps: SyncDeps, rules: RoutingRules, lap: (phase: string) => void): Promise<Prepared | null> {
  const sources = await loadSources(deps.store);
  if (!canScope(deps, sources, false)) return null;
  // Contact rows whole only when some contacts container is listed (a system that cannot read by change).
  const compact = await loadCompact(deps.store, deps.settings.migration?.to, sources, (entries) => !everyContactsReadByChange(deps, entries));
  lap('load');
  const src = newSources();
  try {
    await readSources(deps, src, { kind: 'scoped', state: compact }, false);
    lap('read');
    const scope = await buildScope(deps.store, { compact, people: src.scoped, contacts: src.listings });
    lap('scope');
    for (const [system, list] of scope.contacts) src.contacts.set(system, list);
    const totals: NonNullable<PlanInput['totals']> = { people: {}, contacts: {}, homes: compact.homes };
    for (const [system, r] of src.scoped) totals.people[system] = r.total;
    for (const [system, l] of src.listings) totals.contacts[system] = l.partial?.ours ?? l.contacts.filter((c) => c.ours).length;
    const unified = unifyInput({ people: scope.people, rules, storedUsers: scope.storedUsers });
    // Contacts whose person changed: known from the person's stored record where the store vouches for them, else read.
    await verifyContacts(src, contactsToVerify({ targets: src.targets, existingContacts: src.contacts, storedContacts: compact.contacts }, unified),
      (c, t) => knownContact(c, t, scope.storedUsers.get(c.address!), compact.contacts.get(contactKey(c.system, c.address!))));
    const plan = computePlan({
      rules, unified, totals,
      people: scope.people, sourceKinds: src.kinds, targets: src.targets, existingContacts: src.contacts,
      storedUsers: scope.storedUsers, storedEntries: scope.storedEntries, storedContacts: compact.contacts,
    });
    lap('plan');
    let entries = 0;
    for (const list of scope.people.values()) entries += list.length;
    return { plan, storedUsers: scope.storedUsers, src, scoped: { addresses: scope.addresses.size, entries } };
  } catch (err) {
    for (const d of src.ldap.values()) await d.close();
    if (err instanceof NeedsFullUnify) return null;
    throw err;
  }
}

/** The whole directory's plan: every person unified and compared. */
async function prepareFull(deps: SyncDeps, rules: RoutingRules, full: boolean, lap: (phase: string) => void, src: Sources): Promise<Prepared> {
  const state = await loadState(deps.store);
  lap('load');
  await readSources(deps, src, { kind: 'full', state }, full);
  lap('read');
  const unified = unifyInput({ people: src.people, rules, storedUsers: state.users });
  await verifyContacts(src, contactsToVerify({ targets: src.targets, existingContacts: src.contacts, storedContacts: state.contacts }, unified));
  const plan = computePlan({
    rules, unified,
    people: src.people, sourceKinds: src.kinds, targets: src.targets, existingContacts: src.contacts,
    storedUsers: state.users, storedEntries: state.entries, storedContacts: state.contacts,
  });
  lap('plan');
  return { plan, storedUsers: state.users, src };
}

/**
 * LDAP lets a client have several operations outstanding on one connection
 * (RFC 4511 section 4.1.1.1); a few in flight hide the round trip without
 * flooding the server.
 */
const WRITE_CONCURRENCY = 8;

/** Reads whole the trusted contacts the plan must compare (their person changed), in place of their names. */
async function verifyContacts(
  src: Sources, toVerify: readonly ExistingContact[], known?: (c: ExistingContact, t: ContactTarget) => ExistingContact | null,
): Promise<void> {
  const bySystem = new Map<string, ExistingContact[]>();
  for (const c of toVerify) {
    const list = bySystem.get(c.system);
    if (list) list.push(c);
    else bySystem.set(c.system, [c]);
  }
  for (const [system, all] of bySystem) {
    const target = src.targets.find((t) => t.system === system)!;
    const vouched: ExistingContact[] = [];
    const list: ExistingContact[] = [];
    for (const c of all) {
      const k = known?.(c, target);
      if (k) vouched.push(k);
      else list.push(c);
    }
    const fetched = list.length > 0 ? await src.ldap.get(system)!.readContactsByDn(list.map((c) => c.dn)) : [];
    const drop = new Set(all);
    // One that has gone since the listing is simply absent: the plan adds it again.
    src.contacts.set(system, [...(src.contacts.get(system) ?? []).filter((c) => !drop.has(c)), ...vouched, ...fetched]);
    const read = src.reads[system];
    if (read) read.contacts += list.length;
  }
}

async function applyContacts(deps: SyncDeps, plan: Plan, src: Sources, result: SyncResult) {
  const done: ContactWrite[] = [];
  const gone: { system: string; address: string }[] = [];
  const attempt = async (system: string, dn: string, op: (d: LdapDirectory) => Promise<void>): Promise<boolean> => {
    try {
      await op(src.ldap.get(system)!);
      result.writes.directory++;
      return true;
    } catch (err) {
      const message = describeError(err);
      result.errors.push({ system, dn, message });
      logEvent(deps.log, 'directory.contact.failed', { system, dn, code: (err as MbError).code }, message, deps.metrics);
      return false;
    }
  };
  await eachLimited(plan.contactAdds, WRITE_CONCURRENCY, async (a) => {
    if (await attempt(a.system, a.dn, (d) => d.addContact(a.dn, a.contact.attributes))) done.push(a);
  });
  await eachLimited(plan.contactChanges, WRITE_CONCURRENCY, async (c) => {
    if (await attempt(c.system, c.dn, (d) => d.modifyContact(c.dn, c.changes))) done.push(c);
  });
  await eachLimited(plan.contactDeletes, WRITE_CONCURRENCY, async (x) => {
    if (await attempt(x.system, x.dn, (d) => d.deleteContact(x.dn)) && x.address) gone.push({ system: x.system, address: x.address });
  });
  done.push(...plan.contactRows);
  return { done, gone };
}

function counts(result: SyncResult): Record<string, number> {
  const d = result.diff;
  return {
    peopleAdded: d.people.add.length, peopleChanged: d.people.change.length, peopleDeleted: d.people.delete.length,
    contactsAdded: d.contacts.add.length, contactsChanged: d.contacts.change.length, contactsDeleted: d.contacts.delete.length,
    conflicts: d.conflicts.length, errors: result.errors.length, skipped: result.skipped.length,
    directoryWrites: result.writes.directory, storeWrites: result.writes.store,
  };
}

export async function runDirectorySync(deps: SyncDeps, opts: SyncOptions = {}): Promise<SyncResult> {
  const { store, log } = deps;
  const run = await store.runs.start('directory');
  logEvent(log, 'directory.sync.started', { run: run.id, dryRun: opts.dryRun === true }, undefined, deps.metrics);
  let src = newSources();
  try {
    const timings: Record<string, number> = {};
    let t0 = performance.now();
    const lap = (phase: string) => { const t = performance.now(); timings[phase] = (timings[phase] ?? 0) + Math.round(t - t0); t0 = t; };
    const s = deps.settings;
    const rules: RoutingRules = {
      systemOrder: Object.keys(s.systems),
      ...(s.directory.conflictWinner ? { conflictWinner: s.directory.conflictWinner } : {}),
      ...(s.migration ? { migrationTo: s.migration.to } : {}),
    };
    const prepared = (opts.full ? null : await prepareScoped(deps, rules, lap)) ?? await prepareFull(deps, rules, opts.full === true, lap, src);
    src = prepared.src;
    const { plan } = prepared;
    const result: SyncResult = {
      runId: run.id, status: 'ok', diff: plan.diff, writes: { directory: 0, store: 0, total: 0 }, errors: [], skipped: src.skipped, reads: src.reads, timings,
      ...(prepared.scoped ? { scoped: prepared.scoped } : {}),
    };
    for (const c of plan.conflicts) logEvent(log, 'directory.conflict', { run: run.id, kind: c.kind, systems: c.systems, winner: c.winner }, c.detail, deps.metrics);
    const guard = checkDeleteGuard({ threshold: s.directory.deleteThreshold, ...deleteCounts(plan, prepared.storedUsers) });
    if (!guard.ok && !opts.allowDeletes) {
      result.status = 'stopped';
      result.stopped = guard.reasons;
      const why = `deletion guard: ${guard.reasons.join('; ')}; nothing was written (run with --allow-deletes to let it through once)`;
      logEvent(log, 'directory.sync.stopped', { run: run.id, reasons: guard.reasons }, why, deps.metrics);
      await store.runs.finish(run.id, 'failed', counts(result), why);
      return result;
    }
    if (opts.dryRun) {
      result.status = 'dry-run';
      await store.runs.finish(run.id, 'ok', { ...counts(result), dryRun: 1 });
      return result;
    }
    const { done, gone } = await applyContacts(deps, plan, src, result);
    lap('directory');
    const n = await applyToStore(store, plan, done, gone, (deps.now ?? Date.now)(), src.states);
    lap('store');
    result.writes.store = n.users + n.entries + n.contactRows + n.conflicts + n.sources;
    result.writes.total = result.writes.store + result.writes.directory;
    if (result.errors.length > 0) result.status = 'partial';
    const c = counts(result);
    await store.runs.finish(run.id, result.errors.length ? 'failed' : 'ok', c, result.errors.length ? `${result.errors.length} contact write(s) failed` : null);
    logEvent(log, 'directory.sync.finished', { run: run.id, ...c }, undefined, deps.metrics);
    return result;
  } catch (err) {
    const event = MbError.is(err, DirectoryErrors.DIRECTORY_SOURCE_EMPTY) ? 'directory.sync.stopped' : 'directory.sync.failed';
    logEvent(log, event, { run: run.id, code: (err as MbError).code }, describeError(err), deps.metrics);
    await store.runs.finish(run.id, 'failed', {}, describeError(err)).catch(() => undefined);
    throw err;
  } finally {
    for (const d of src.ldap.values()) await d.close();
  }
}
