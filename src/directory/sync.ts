/**
 * One directory sync run: read the sources (whole, or only what changed since
 * the last run: incremental.ts), the contacts containers likewise, compute the
 * plan against the store, stop on the deletion guard, then write only what
 * differs (contacts first, then the store in one transaction). Every run is
 * recorded in the store's runs (kind `directory`).
 */
import { readFile } from 'node:fs/promises';
import { MbError, describeError } from '../core/index.js';
import type { DirectoryConfig, SystemConfig } from '../config/index.js';
import { logEvent, type Logger, type Metrics } from '../observe/index.js';
import { normalizeDn } from '../protocol/ldap/index.js';
import type { Store } from '../store/index.js';
import type { ContactTarget } from './contacts.js';
import { parseUsersCsv } from './csv.js';
import { DirectoryErrors } from './errors.js';
import { checkDeleteGuard } from './guard.js';
import {
  fullReadReason, readContactsIncremental, readPeopleIncremental, sameSkipped, skippedState, sourceFingerprint,
} from './incremental.js';
import { LdapDirectory, eachLimited, type LdapOptions } from './ldap.js';
import { parseLdif } from './ldif.js';
import { attributeMap, mapEntry } from './mapping.js';
import { computePlan, contactsToVerify, deleteCounts, unifyInput, type ContactWrite, type Plan } from './plan.js';
import { applyToStore, loadState, type LoadedState, type SourceState } from './state.js';
import type { ExistingContact, SourcePerson, SyncDiff } from './types.js';

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
}

export interface SyncWrites {
  /** Objects written in the systems' directories (contacts added, changed, deleted). */
  directory: number;
  /** Rows written in the store (users, source entries, contact rows, conflicts). */
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
  /** Wall time per phase in ms: load (store state), read (sources), verify, plan, directory (writes), store (writes). */
  timings: Record<string, number>;
}

interface Sources {
  people: Map<string, SourcePerson[]>;
  kinds: Map<string, string>;
  skipped: SyncResult['skipped'];
  contacts: Map<string, ExistingContact[]>;
  targets: ContactTarget[];
  ldap: Map<string, LdapDirectory>;
  reads: Record<string, SourceRead>;
  /** Read state to store for the next run (only the systems whose state changed). */
  states: Map<string, SourceState>;
}

function contactsDns(systems: readonly SystemConfig[]): string[] {
  return systems.map((s) => s.ldap?.contactsDn).filter((d): d is string => d !== undefined);
}

async function readFileSource(s: SystemConfig, file: string, kind: 'csv' | 'ldif'): Promise<{ people: SourcePerson[]; skipped: SyncResult['skipped'] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MbError(DirectoryErrors.DIRECTORY_SOURCE_UNREACHABLE, `${s.name}: cannot read ${file}: ${describeError(err)}`, { cause: err, details: { system: s.name, file } });
  }
  if (kind === 'csv') return { people: parseUsersCsv(text, s.name, file), skipped: [] };
  const map = attributeMap(s.ldap?.flavor ?? 'openldap', s.ldap?.attributes ?? {});
  const people: SourcePerson[] = [];
  const skipped: SyncResult['skipped'] = [];
  for (const e of parseLdif(text, file)) {
    const r = mapEntry(s.name, normalizeDn(e.dn) ?? e.dn, e, map);
    if (r.ok) people.push(r.person);
    else skipped.push({ system: s.name, dn: r.dn, reason: r.reason });
  }
  return { people, skipped };
}

interface SourceResult {
  people: SourcePerson[];
  skipped: SyncResult['skipped'];
  kind: string;
  read?: SourceRead;
  contacts?: { list: ExistingContact[]; target: ContactTarget };
  state?: SourceState;
}

/**
 * One LDAP system: people and contacts, incrementally when the store knows
 * where the last run left off. The people and the contacts are read at once,
 * on two connections (slapd keeps one paged-results state per connection): a
 * paged read is a chain of round trips, and two chains overlap.
 */
async function readLdapSource(
  deps: SyncDeps, s: SystemConfig & { ldap: NonNullable<SystemConfig['ldap']> }, exclude: readonly string[], src: Sources, state: LoadedState, full: boolean,
): Promise<SourceResult> {
  const dir = await LdapDirectory.connect(s.name, s.ldap, { insecure: s.tlsInsecure === true, ...deps.ldap });
  src.ldap.set(s.name, dir);
  const map = attributeMap(s.ldap.flavor, s.ldap.attributes ?? {});
  const fingerprint = sourceFingerprint(s.ldap, map, exclude);
  const prev = state.sources.get(s.name);
  const now = (deps.now ?? Date.now)();
  const forced = fullReadReason(prev, fingerprint, now, full);
  const readPeople = async () => {
    const inc = forced === null ? await readPeopleIncremental(dir, s.name, map, exclude, state, prev!) : null;
    if (inc) return { ...inc, why: null };
    const all = await dir.readPeople(map, exclude);
    return { people: all.people, skipped: all.skipped, fetched: all.people.length + all.skipped.length, why: forced ?? 'many entries changed' };
  };
  const contactsDn = s.ldap.contactsDn;
  const readContacts = async () => {
    if (!contactsDn) return null;
    const cdir = await LdapDirectory.connect(s.name, s.ldap, { insecure: s.tlsInsecure === true, ...deps.ldap });
    try {
      const inc = forced === null ? await readContactsIncremental(cdir, s.name, state.contacts) : null;
      if (inc) return inc;
      const list = await cdir.readContacts();
      return { contacts: list, fetched: list.length };
    } finally {
      await cdir.close();
    }
  };
  const [r, c] = await Promise.all([readPeople(), readContacts()]);
  const read: SourceRead = { mode: r.why === null ? 'incremental' : 'full', ...(r.why !== null ? { reason: r.why } : {}), people: r.fetched, contacts: c?.fetched ?? 0 };
  const skipped = skippedState(r.skipped);
  const changedState = forced !== null || !prev || !sameSkipped(prev.skipped, skipped);
  return {
    people: r.people, skipped: r.skipped.map((x) => ({ system: s.name, dn: x.dn, reason: x.reason })), kind: 'ldap', read,
    ...(c && contactsDn ? { contacts: { list: c.contacts, target: { system: s.name, flavor: s.ldap.flavor, contactsDn } } } : {}),
    ...(changedState ? { state: { fingerprint, skipped, fullAt: forced !== null ? now : prev!.fullAt } } : {}),
  };
}

async function readOne(deps: SyncDeps, s: SystemConfig, exclude: readonly string[], src: Sources, state: LoadedState, full: boolean): Promise<SourceResult | null> {
  if (s.ldap) return readLdapSource(deps, { ...s, ldap: s.ldap }, exclude, src, state, full);
  if (s.users) return { ...await readFileSource(s, s.users, 'csv'), kind: 'csv' };
  if (s.ldif) return { ...await readFileSource(s, s.ldif, 'ldif'), kind: 'ldif' };
  return null;
}

/** Every source at once; the results (and the first failure) are taken in the order the systems are named. */
async function readSources(deps: SyncDeps, src: Sources, state: LoadedState, full: boolean): Promise<void> {
  const systems = Object.values(deps.settings.systems);
  const exclude = contactsDns(systems);
  const settled = await Promise.allSettled(systems.map((s) => readOne(deps, s, exclude, src, state, full)));
  for (const [i, s] of systems.entries()) {
    const got = settled[i]!;
    if (got.status === 'rejected') throw got.reason;
    const r = got.value;
    if (!r) continue;
    src.kinds.set(s.name, r.kind);
    // Zero people is a wrong filter, an empty OU or an outage, never "everyone left".
    if (r.people.length === 0) {
      throw new MbError(DirectoryErrors.DIRECTORY_SOURCE_EMPTY,
        `${s.name}: the ${r.kind} source returned no people; refusing to treat that as everyone having left (check the filter and base DN)`,
        { details: { system: s.name } });
    }
    src.people.set(s.name, r.people);
    src.skipped.push(...r.skipped);
    if (r.read) src.reads[s.name] = r.read;
    if (r.contacts) {
      src.contacts.set(s.name, r.contacts.list);
      src.targets.push(r.contacts.target);
    }
    if (r.state) src.states.set(s.name, r.state);
  }
}

/**
 * LDAP lets a client have several operations outstanding on one connection
 * (RFC 4511 section 4.1.1.1); a few in flight hide the round trip without
 * flooding the server.
 */
const WRITE_CONCURRENCY = 8;

/** Reads whole the trusted contacts the plan must compare (their person changed), in place of their names. */
async function verifyContacts(src: Sources, toVerify: readonly ExistingContact[]): Promise<void> {
  const bySystem = new Map<string, ExistingContact[]>();
  for (const c of toVerify) {
    const list = bySystem.get(c.system);
    if (list) list.push(c);
    else bySystem.set(c.system, [c]);
  }
  for (const [system, list] of bySystem) {
    const fetched = await src.ldap.get(system)!.readContactsByDn(list.map((c) => c.dn));
    const drop = new Set(list);
    // One that has gone since the listing is simply absent: the plan adds it again.
    src.contacts.set(system, [...(src.contacts.get(system) ?? []).filter((c) => !drop.has(c)), ...fetched]);
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
  const src: Sources = {
    people: new Map(), kinds: new Map(), skipped: [], contacts: new Map(), targets: [], ldap: new Map(), reads: {}, states: new Map(),
  };
  try {
    const timings: Record<string, number> = {};
    let t0 = performance.now();
    const lap = (phase: string) => { const t = performance.now(); timings[phase] = Math.round(t - t0); t0 = t; };
    const state = await loadState(store);
    lap('load');
    await readSources(deps, src, state, opts.full === true);
    lap('read');
    const s = deps.settings;
    const rules = {
      systemOrder: Object.keys(s.systems),
      ...(s.directory.conflictWinner ? { conflictWinner: s.directory.conflictWinner } : {}),
      ...(s.migration ? { migrationTo: s.migration.to } : {}),
    };
    const unified = unifyInput({ people: src.people, rules, storedUsers: state.users });
    lap('plan');
    await verifyContacts(src, contactsToVerify({ targets: src.targets, existingContacts: src.contacts, storedContacts: state.contacts }, unified));
    lap('verify');
    const plan = computePlan({
      rules, unified,
      people: src.people, sourceKinds: src.kinds, targets: src.targets, existingContacts: src.contacts,
      storedUsers: state.users, storedEntries: state.entries, storedContacts: state.contacts,
    });
    const result: SyncResult = {
      runId: run.id, status: 'ok', diff: plan.diff, writes: { directory: 0, store: 0, total: 0 }, errors: [], skipped: src.skipped, reads: src.reads, timings,
    };
    timings.plan = (timings.plan ?? 0) + Math.round(performance.now() - t0);
    t0 = performance.now();
    for (const c of plan.conflicts) logEvent(log, 'directory.conflict', { run: run.id, kind: c.kind, systems: c.systems, winner: c.winner }, c.detail, deps.metrics);
    const guard = checkDeleteGuard({ threshold: s.directory.deleteThreshold, ...deleteCounts(plan, state.users) });
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
