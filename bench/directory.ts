/**
 * bench/directory (issue 5, "Speed"): N people (default 100,000, half per
 * system) in the lab's slapd; times mailbridge's first full directory sync
 * (reads both people OUs, writes N contacts) and an incremental run after
 * 1,000 people changed. Next to it, in the same run and against the same
 * slapd, the floor: `ldapsearch` (paged) of the same people plus `ldapadd` of
 * the same N contacts from an LDIF into a fresh OU. A benchmark, not a test:
 * it prints figures and ratios and never fails on a time.
 *
 *   npm run bench:directory -- [--people N] [--changes N] [--profile DIR]
 *                                [--no-floor] [--rounds R] [--compare OTHER/bench/directory.ts]
 *
 * `--rounds R` runs R incremental syncs, each after its own `--changes`
 * modifications. `--compare` runs every round twice, alternating another
 * tree's child (say, the committed code exported to a scratch folder) and
 * this one, each after its own modifications and against the same slapd and
 * store: an A/B under the same load. `--no-floor` skips the floor (its ldapadd
 * is most of the bench's time).
 *
 * `--keep DIR` keeps the bench folder (slapd's database, the store) in DIR
 * instead of a temporary folder: the first run with a new DIR loads the people
 * and makes the full sync as usual and leaves DIR behind; a later run with the
 * same DIR restarts slapd on it and goes straight to the incremental rounds
 * (no load, no floor, no full sync: minutes at 100,000 people). `--people`
 * must match the kept folder's.
 *
 * Each mailbridge run is a child process of its own (`--child`), so its peak
 * RSS is the sync's and not this driver's LDIF buffers; `--profile DIR` runs
 * the children with `--cpu-prof` into DIR.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBenchChild } from './lib/child.js';
import { parseConfig } from '../src/config/index.js';
import { runDirectorySync } from '../src/directory/index.js';
import { silentLogger } from '../src/observe/index.js';
import { preloadSlapd, restartSlapd } from './lib/slapd-preload.js';
import { openStore } from '../src/store/index.js';
import {
  labDir, ldapAddLdif, ldapClient, peopleLdif, startSlapd, stopPid, type LabPerson, type LabSystem, type LdapInfo,
} from '../test/harness/index.js';

const SYSTEMS: readonly LabSystem[] = ['legacy', 'cloud'];
const other = (s: LabSystem): LabSystem => (s === 'legacy' ? 'cloud' : 'legacy');

interface ChildResult {
  seconds: number;
  maxRssMb: number;
  heapUsedMb: number;
  status: string;
  counts: Record<string, number>;
  /** Per system: full or incremental read, entries and contacts read whole. */
  reads?: Record<string, { mode: string; people: number; contacts: number }>;
  /** Wall ms per phase of the run. */
  timings?: Record<string, number>;
  /** Scoped runs: addresses and entries re-unified. */
  scoped?: { addresses: number; entries: number };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---------------------------------------------------------------- child: one mailbridge run

async function child(configFile: string): Promise<void> {
  const config = parseConfig(readFileSync(configFile, 'utf8'), configFile, {});
  const store = await openStore(config.store);
  try {
    const t0 = performance.now();
    const r = await runDirectorySync({ store, log: silentLogger(), settings: config, ldap: { timeoutMs: 120_000 } });
    const seconds = (performance.now() - t0) / 1000;
    const d = r.diff;
    const out: ChildResult = {
      seconds,
      // resourceUsage().maxRSS is in kilobytes (getrusage ru_maxrss on Linux).
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      heapUsedMb: process.memoryUsage().heapUsed / 1048576,
      status: r.status,
      counts: {
        peopleRead: Object.values(d.sources).reduce((n, s) => n + s.people, 0),
        peopleAdded: d.people.add.length, peopleChanged: d.people.change.length, peopleDeleted: d.people.delete.length,
        contactsAdded: d.contacts.add.length, contactsChanged: d.contacts.change.length, contactsDeleted: d.contacts.delete.length,
        conflicts: d.conflicts.length, errors: r.errors.length, skipped: r.skipped.length,
        directoryWrites: r.writes.directory, storeWrites: r.writes.store,
      },
      timings: r.timings,
      ...(r.scoped ? { scoped: r.scoped } : {}),
      reads: Object.fromEntries(Object.entries(r.reads).map(([s, x]) => [s, { mode: x.mode, people: x.people, contacts: x.contacts }])),
    };
    if (r.errors.length > 0) console.error(`first errors: ${JSON.stringify(r.errors.slice(0, 3))}`);
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- driver

function person(system: LabSystem, i: number): LabPerson {
  const n = String(i).padStart(6, '0');
  const p: LabPerson = {
    uid: `${system[0]}${n}`, cn: `${system} Person ${n}`, sn: `Person${n}`, givenName: system,
    mail: `${system}.p${n}@example.com`, title: `Title ${i % 50}`, telephoneNumber: `+1 555 ${n}`,
  };
  // A quarter of the people have an alias, so the alias index is exercised too.
  if (i % 4 === 0) p.aliases = [`${system}.a${n}@example.com`];
  return p;
}

/**
 * The contact mailbridge writes for `p` (openldap flavor, src/directory/contacts.ts
 * desiredContact): same RDN, object classes, attributes and marker. The driver
 * checks one of mailbridge's real contacts against this shape after the sync.
 */
function contactEntry(p: LabPerson, home: LabSystem, ou: string): Record<string, string[]> & { dn: string[] } {
  return {
    dn: [`mail=${p.mail},${ou}`],
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    mail: [p.mail], cn: [p.cn], displayName: [p.cn], description: [`mailbridge-contact source=${home}`],
    givenName: [p.givenName!], telephoneNumber: [p.telephoneNumber!], title: [p.title!], sn: [p.sn],
  };
}

function contactsLdif(people: Map<LabSystem, LabPerson[]>, ou: string): string {
  const parts: string[] = [];
  for (const [home, list] of people) {
    for (const p of list) {
      const e = contactEntry(p, home, ou);
      const lines = [`dn: ${e.dn[0]}`];
      for (const [k, vs] of Object.entries(e)) if (k !== 'dn') for (const v of vs) lines.push(`${k}: ${v}`);
      parts.push(lines.join('\n'));
    }
  }
  return `${parts.join('\n\n')}\n`;
}

function changesLdif(info: LdapInfo, people: Map<LabSystem, LabPerson[]>, changes: number, round = 0): string {
  const parts: string[] = [];
  for (const s of SYSTEMS) {
    const list = people.get(s)!;
    const n = s === 'legacy' ? Math.ceil(changes / 2) : Math.floor(changes / 2);
    // Spread over the whole OU, not the first n entries.
    const step = Math.max(1, Math.floor(list.length / Math.max(1, n)));
    for (let k = 0; k < n; k++) {
      const p = list[(k * step) % list.length]!;
      parts.push([`dn: uid=${p.uid},${info.systems[s].baseDn}`, 'changetype: modify', 'replace: title', `title: Changed ${round > 0 ? `r${round} ` : ''}${k}`, '-'].join('\n'));
    }
  }
  return `${parts.join('\n\n')}\n`;
}

const secs = (t0: number): number => (performance.now() - t0) / 1000;
const ldapArgs = (info: LdapInfo): string[] => ['-x', '-H', info.url, '-D', info.bindDn, '-w', info.password];

/** Runs a command with stdout to /dev/null; rejects on a non-zero exit with stderr's tail. */
function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(secs(t0)) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

async function runChild(configFile: string, profileDir: string | undefined, script = import.meta.url): Promise<ChildResult & { wallSeconds: number }> {
  const t0 = performance.now();
  const result = await runBenchChild<ChildResult>(script, configFile, profileDir);
  return { ...result, wallSeconds: secs(t0) };
}

async function ldapSearchFloor(info: LdapInfo): Promise<number> {
  // The same filter, attributes and bases mailbridge reads; paged, since the admin is held to the size limit.
  const attrs = ['mail', 'proxyAddresses', 'mailAlternateAddress', 'mailLocalAddress', 'displayName', 'cn', 'givenName', 'sn',
    'telephoneNumber', 'title', 'department', 'departmentNumber', 'company', 'o', 'entryCSN', 'modifyTimestamp', 'uSNChanged'];
  let total = 0;
  for (const s of SYSTEMS) {
    total += await run('ldapsearch', [...ldapArgs(info), '-LLL', '-E', 'pr=1000/noprompt', '-b', info.systems[s].baseDn,
      '(&(objectClass=inetOrgPerson)(!(description=mailbridge-contact*)))', ...attrs]);
  }
  return total;
}

async function countUnder(info: LdapInfo, base: string): Promise<number> {
  const c = await ldapClient(info, 120_000);
  try {
    const r = await c.search(base, { scope: 'one', attributes: ['1.1'], paged: { pageSize: 500 } });
    return r.searchEntries.length;
  } finally { await c.unbind(); }
}

/** One of mailbridge's contacts has the attributes the floor's LDIF gives the same person. */
async function checkShape(info: LdapInfo, p: LabPerson, home: LabSystem): Promise<string> {
  const c = await ldapClient(info);
  try {
    const dn = `mail=${p.mail},${info.systems[other(home)].contactsDn}`;
    const r = await c.search(dn, { scope: 'base', attributes: ['*'] });
    const got = r.searchEntries[0];
    if (!got) return `no contact at ${dn}`;
    const want = contactEntry(p, home, '');
    const norm = (v: unknown) => (Array.isArray(v) ? v : [v]).map(String).sort().join('|');
    const names = new Set([...Object.keys(got), ...Object.keys(want)].filter((k) => k !== 'dn'));
    const diff = [...names].filter((k) => norm(got[k]) !== norm(want[k as keyof typeof want] ?? []));
    return diff.length === 0 ? 'same attributes and values as the floor LDIF' : `differs in ${diff.join(', ')}`;
  } finally { await c.unbind(); }
}

function configYaml(info: LdapInfo, dbFile: string, people: number): string {
  const sys = (s: LabSystem) => [
    `  ${s}:`,
    `    ldap: { url: "${info.url}", bindDn: "${info.bindDn}", password: "${info.password}",`,
    `            baseDn: "${info.systems[s].baseDn}", contactsDn: "${info.systems[s].contactsDn}" }`,
  ].join('\n');
  return ['organization: Bench', 'domains: [example.com]', `store: { sqlite: "${dbFile}" }`, 'systems:', sys('legacy'), sys('cloud'),
    // The first run deletes nothing; the threshold only has to stay out of the way.
    `directory: { deleteThreshold: ${Math.max(500, people)} }`, ''].join('\n');
}

/** What a kept bench folder (--keep) holds, in DIR/kept.json. */
interface Kept { perSystem: number; info: LdapInfo; round: number }

const mb = (n: number) => `${n.toFixed(0)} MB`;
const f2 = (n: number) => n.toFixed(2);

async function main(): Promise<void> {
  const total = Number(argValue('--people') ?? 100_000);
  const changes = Number(argValue('--changes') ?? Math.min(1000, total));
  const profileDir = argValue('--profile');
  const perSystem = Math.floor(total / 2);
  const keep = argValue('--keep');
  const keptFile = keep ? join(resolve(keep), 'kept.json') : undefined;
  const kept = keptFile && existsSync(keptFile) ? JSON.parse(readFileSync(keptFile, 'utf8')) as Kept : undefined;
  if (kept && kept.perSystem !== perSystem) throw new Error(`--keep ${keep} holds ${kept.perSystem * 2} people, not ${perSystem * 2}: pass --people ${kept.perSystem * 2}`);
  let dir: string;
  if (keep) {
    dir = resolve(keep);
    mkdirSync(dir, { recursive: true });
  } else {
    dir = mkdtempSync(join(tmpdir(), 'mb-bench-dir-'));
  }
  // slapd and slapadd run as the lab user, who must be able to enter the folder.
  chmodSync(dir, 0o755);
  labDir(dir);
  let pid: number | undefined;
  const stop = async () => { if (pid !== undefined) { const p = pid; pid = undefined; await stopPid(p); } };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { void stop().finally(() => { if (!keep) rmSync(dir, { recursive: true, force: true }); process.exit(130); }); });
  }
  const lines: string[] = [];
  const say = (s: string) => { lines.push(s); console.log(s); };
  try {
    const cpus = (await import('node:os')).cpus().length;
    say(`bench/directory ${new Date().toISOString().slice(0, 10)}: ${perSystem * 2} people (${perSystem} per system), ${changes} changes; ${cpus} cores, load average at start ${(await import('node:os')).loadavg().map(f2).join(' ')}`);

    // ---- setup (not a figure)
    let t0 = performance.now();
    const people = new Map<LabSystem, LabPerson[]>(SYSTEMS.map((s) => [s, Array.from({ length: perSystem }, (_, i) => person(s, i))]));
    const cfgFile = join(dir, 'mailbridge.yaml');
    let round = 0;
    let info: LdapInfo;
    let full: (ChildResult & { wallSeconds: number }) | undefined;
    if (kept) {
      // The same port: the server URL is part of the source's fingerprint, a new one would make the run read everything.
      info = kept.info;
      pid = (await restartSlapd(dir, info, join(dir, 'ldap', 'slapd.log'))).pid;
      writeFileSync(cfgFile, configYaml(info, join(dir, 'mb.db'), total));
      round = kept.round;
      say(`setup: kept folder ${dir} (${perSystem * 2} people, synced, ${round} rounds done): slapd restarted in ${f2(secs(t0))} s; no load, floor or full sync`);
    } else {
      const started = await startSlapd(dir);
      info = started.info;
      const server = started.server;
      pid = server.pid;
      const tStart = secs(t0);
      t0 = performance.now();
      pid = undefined; // preloadSlapd stops it
      pid = (await preloadSlapd(dir, info, server, SYSTEMS.map((s) => peopleLdif(info, s, people.get(s)!)).join('\n'))).pid;
      say(`setup: slapd started in ${f2(tStart)} s; ${perSystem * 2} people loaded offline (slapadd -q, restart) in ${f2(secs(t0))} s`);

      // ---- floor: ldapsearch of the people + ldapadd of the same contacts into a fresh OU
      let floor = Number.NaN;
      if (!process.argv.includes('--no-floor')) {
        const floorOu = `ou=floor-contacts,${info.suffix}`;
        ldapAddLdif(info, `dn: ${floorOu}\nobjectClass: organizationalUnit\nou: floor-contacts\n`);
        const ldifFile = join(dir, 'floor-contacts.ldif');
        writeFileSync(ldifFile, contactsLdif(people, floorOu));
        const search = await ldapSearchFloor(info);
        const add = await run('ldapadd', [...ldapArgs(info), '-f', ldifFile]);
        floor = search + add;
        say(`floor: ldapsearch (paged) of both people OUs ${f2(search)} s + ldapadd of ${perSystem * 2} contacts ${f2(add)} s = ${f2(floor)} s`);
      }

      // ---- mailbridge: first full sync
      writeFileSync(cfgFile, configYaml(info, join(dir, 'mb.db'), total));
      full = await runChild(cfgFile, profileDir);
      const written = (await countUnder(info, info.systems.legacy.contactsDn)) + (await countUnder(info, info.systems.cloud.contactsDn));
      say(`mailbridge full sync: ${f2(full.seconds)} s (process ${f2(full.wallSeconds)} s), status ${full.status}, peak RSS ${mb(full.maxRssMb)}; ` +
        `read ${full.counts.peopleRead} people, contacts added ${full.counts.contactsAdded}, directory writes ${full.counts.directoryWrites}, ` +
        `store writes ${full.counts.storeWrites}, errors ${full.counts.errors}; contacts now in slapd ${written}`);
      say(`  contact shape check: ${await checkShape(info, people.get('legacy')![1]!, 'legacy')}`);
      if (Number.isFinite(floor)) say(`ratio full sync / floor: ${f2(full.seconds / floor)} (aim <= 1.5)`);
      if (keptFile) writeFileSync(keptFile, JSON.stringify({ perSystem, info, round } satisfies Kept));
    }

    // ---- incremental: `changes` people modified, then a sync; per round, per tree when comparing
    const rounds = Number(argValue('--rounds') ?? 1);
    const compare = argValue('--compare');
    const trees: [string, string][] = compare ? [['other', pathToFileURL(resolve(compare)).href], ['this', import.meta.url]] : [['this', import.meta.url]];
    const incs: [string, ChildResult][] = [];
    for (let r = 0; r < rounds; r++) {
      for (const [tree, script] of trees) {
        round++;
        t0 = performance.now();
        execFileSync('ldapmodify', ldapArgs(info), { input: changesLdif(info, people, changes, round), stdio: ['pipe', 'ignore', 'pipe'] });
        say(`setup: ${changes} people modified with ldapmodify in ${f2(secs(t0))} s`);
        const inc = await runChild(cfgFile, profileDir, script);
        if (keptFile) writeFileSync(keptFile, JSON.stringify({ perSystem, info, round } satisfies Kept));
        const label = compare ? `${tree} tree, round ${r + 1}` : `round ${r + 1}`;
        incs.push([label, inc]);
        say(`mailbridge incremental sync (${changes} changes; ${label}): ${f2(inc.seconds)} s (process ${f2(inc.wallSeconds)} s), status ${inc.status}, peak RSS ${mb(inc.maxRssMb)}; ` +
          `people changed ${inc.counts.peopleChanged}, contacts changed ${inc.counts.contactsChanged}, added ${inc.counts.contactsAdded}, ` +
          `deleted ${inc.counts.contactsDeleted}, directory writes ${inc.counts.directoryWrites}, store writes ${inc.counts.storeWrites} (aim < 5 s)`);
        if (inc.reads) {
          say(`  reads: ${Object.entries(inc.reads).map(([s, x]) => `${s} ${x.mode}, ${x.people} entries + ${x.contacts} contacts read whole`).join('; ')}`);
        }
        if (inc.timings) say(`  phases (ms): ${Object.entries(inc.timings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        say(`  unify: ${inc.scoped ? `scoped, ${inc.scoped.addresses} addresses / ${inc.scoped.entries} entries re-unified` : 'everyone'}`);
      }
    }
    if (full?.timings) say(`  full phases (ms): ${Object.entries(full.timings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const [tree] of trees) {
      const mine = incs.filter(([label]) => !compare || label.startsWith(tree)).map(([, r]) => r.seconds).sort((x, y) => x - y);
      if (mine.length > 1) say(`incremental ${compare ? `${tree} tree ` : ''}over ${mine.length} rounds: median ${f2(mine[Math.floor((mine.length - 1) / 2)]!)} s, min ${f2(mine[0]!)} s, max ${f2(mine.at(-1)!)} s`);
    }
    const db = statSync(join(dir, 'ldap', 'db', 'data.mdb'));
    say(`slapd data.mdb at the end: ${mb(db.blocks * 512 / 1048576)} used; load average at end ${(await import('node:os')).loadavg().map(f2).join(' ')}`);
  } finally {
    await stop();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) await child(argValue('--child')!);
else await main();
