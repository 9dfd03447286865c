/**
 * One directory sync run: read every source whole, read each system's contacts
 * container, compute the plan against the store, stop on the deletion guard,
 * then write only what differs (contacts first, then the store in one
 * transaction). Every run is recorded in the store's runs (kind `directory`).
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
import { LdapDirectory, type LdapOptions } from './ldap.js';
import { parseLdif } from './ldif.js';
import { attributeMap, mapEntry } from './mapping.js';
import { computePlan, deleteCounts, type ContactWrite, type Plan } from './plan.js';
import { applyToStore, loadState } from './state.js';
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
}

interface Sources {
  people: Map<string, SourcePerson[]>;
  kinds: Map<string, string>;
  skipped: SyncResult['skipped'];
  contacts: Map<string, ExistingContact[]>;
  targets: ContactTarget[];
  ldap: Map<string, LdapDirectory>;
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

async function readSources(deps: SyncDeps, src: Sources): Promise<void> {
  const systems = Object.values(deps.settings.systems);
  const exclude = contactsDns(systems);
  for (const s of systems) {
    let got: { people: SourcePerson[]; skipped: SyncResult['skipped'] } | undefined;
    if (s.ldap) {
      const dir = await LdapDirectory.connect(s.name, s.ldap, { insecure: s.tlsInsecure === true, ...deps.ldap });
      src.ldap.set(s.name, dir);
      const r = await dir.readPeople(attributeMap(s.ldap.flavor, s.ldap.attributes ?? {}), exclude);
      got = { people: r.people, skipped: r.skipped.map((x) => ({ system: s.name, ...x })) };
      src.kinds.set(s.name, 'ldap');
      if (s.ldap.contactsDn) {
        src.contacts.set(s.name, await dir.readContacts());
        src.targets.push({ system: s.name, flavor: s.ldap.flavor, contactsDn: s.ldap.contactsDn });
      }
    } else if (s.users) {
      got = await readFileSource(s, s.users, 'csv');
      src.kinds.set(s.name, 'csv');
    } else if (s.ldif) {
      got = await readFileSource(s, s.ldif, 'ldif');
      src.kinds.set(s.name, 'ldif');
    }
    if (!got) continue;
    // Zero people is a wrong filter, an empty OU or an outage, never "everyone left".
    if (got.people.length === 0) {
      throw new MbError(DirectoryErrors.DIRECTORY_SOURCE_EMPTY,
        `${s.name}: the ${src.kinds.get(s.name)} source returned no people; refusing to treat that as everyone having left (check the filter and base DN)`,
        { details: { system: s.name } });
    }
    src.people.set(s.name, got.people);
    src.skipped.push(...got.skipped);
  }
}

/**
 * LDAP lets a client have several operations outstanding on one connection
 * (RFC 4511 section 4.1.1.1); a few in flight hide the round trip without
 * flooding the server.
 */
const WRITE_CONCURRENCY = 8;

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
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
  const src: Sources = { people: new Map(), kinds: new Map(), skipped: [], contacts: new Map(), targets: [], ldap: new Map() };
  try {
    await readSources(deps, src);
    const state = await loadState(store);
    const s = deps.settings;
    const plan = computePlan({
      rules: {
        systemOrder: Object.keys(s.systems),
        ...(s.directory.conflictWinner ? { conflictWinner: s.directory.conflictWinner } : {}),
        ...(s.migration ? { migrationTo: s.migration.to } : {}),
      },
      people: src.people, sourceKinds: src.kinds, targets: src.targets, existingContacts: src.contacts,
      storedUsers: state.users, storedEntries: state.entries, storedContacts: state.contacts,
    });
    const result: SyncResult = { runId: run.id, status: 'ok', diff: plan.diff, writes: { directory: 0, store: 0, total: 0 }, errors: [], skipped: src.skipped };
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
    const n = await applyToStore(store, plan, done, gone, (deps.now ?? Date.now)());
    result.writes.store = n.users + n.entries + n.contactRows + n.conflicts;
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
