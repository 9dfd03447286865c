/**
 * The demo: starts the lab of real servers in demo/lab, seeds it, writes
 * demo/mailbridge.yaml pointing at it, runs `mailbridge check` and then
 * `mailbridge serve` in the foreground. Ctrl-C stops serve and every lab server.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startLab, stopLab } from '../test/harness/lab.js';
import { freePort } from '../test/harness/process.js';
import { seedLab, type SeedPerson } from '../test/harness/seed.js';
import type { LabInfo } from '../test/harness/types.js';
import { hashPassword } from '../src/core/index.js';

const root = resolve(import.meta.dirname, '..');
const demoDir = join(root, 'demo');
const labDir = join(demoDir, 'lab');
const bin = join(root, 'bin', 'mailbridge.js');
const WEB_PASSWORD = 'demo';

function csv(people: SeedPerson[]): string {
  return ['address,name,aliases', ...people.map((p) => `${p.address},${p.name},`)].join('\n') + '\n';
}

function configYaml(lab: LabInfo, webPort: number, gatewayPort: number, hash: string): string {
  const sys = (name: 'legacy' | 'cloud'): string => {
    const dv = lab.dovecot[name];
    // legacy receives through its Postfix (an on-premises MTA); cloud takes LMTP directly.
    const smtp = name === 'legacy' && lab.postfix
      ? `{ host: 127.0.0.1, port: ${lab.postfix.smtpPort}, protocol: smtp, tls: none }`
      : `{ host: 127.0.0.1, port: ${dv.lmtpPort}, protocol: lmtp, tls: none }`;
    const ldap = lab.ldap ? `
    ldap:
      url: "${lab.ldap.url}"
      bindDn: "${lab.ldap.bindDn}"
      password: { file: ./ldap-password }
      baseDn: "${lab.ldap.systems[name].baseDn}"
      filter: "(objectClass=inetOrgPerson)"
      contactsDn: "${lab.ldap.systems[name].contactsDn}"` : '';
    const caldav = lab.radicale ? `
    caldav: { url: "${lab.radicale.url}", user: ${lab.radicale.adminUser}, password: ${lab.radicale.adminPassword}, home: "{local}/" }` : '';
    return `  ${name}:
    smtp: ${smtp}
    imap: { host: 127.0.0.1, port: ${dv.imapPort}, tls: none, admin: { user: ${dv.masterUser}, password: { env: MAILBRIDGE_DEMO_MASTER_${name.toUpperCase()} } } }${ldap}
    users: ./${name}-users.csv${caldav}`;
  };
  return `# Written by \`npm run demo\`: mailbridge in front of the lab's real servers.
organization: Example Group (demo)
domains: [example.com]
store: { sqlite: ./var/mailbridge.db }
systems:
${sys('legacy')}
${sys('cloud')}
gateway:
  listen: [{ host: 127.0.0.1, port: ${gatewayPort} }]
  spool: ./var/spool
  relayNetworks: [127.0.0.0/8]
migration:
  from: legacy
  to: cloud
  users: ./migration-users.csv
web:
  listen: { host: 127.0.0.1, port: ${webPort} }
  users: [{ name: admin, passwordHash: "${hash}" }]   # password: ${WEB_PASSWORD}
  metrics: { public: true }
probes:
  interval: 1m
`;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [bin, '--config', join(demoDir, 'mailbridge.yaml'), ...args], { stdio: 'inherit', env });
    child.on('exit', (code) => res(code ?? 1));
  });
}

async function main(): Promise<void> {
  mkdirSync(demoDir, { recursive: true });
  if (existsSync(join(labDir, 'lab.json'))) await stopLab(labDir); // a previous demo that was not stopped
  console.log('demo: starting the lab (Dovecot x2, OpenLDAP, Radicale, Postfix, PostgreSQL) ...');
  const lab = await startLab(labDir);
  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\ndemo: stopping the lab ...');
    await stopLab(labDir);
  };
  try {
    console.log('demo: seeding people, mailboxes and calendars ...');
    const people = await seedLab(lab);
    writeFileSync(join(demoDir, 'legacy-users.csv'), csv(people.filter((p) => p.system === 'legacy')));
    writeFileSync(join(demoDir, 'cloud-users.csv'), csv(people.filter((p) => p.system === 'cloud')));
    writeFileSync(join(demoDir, 'migration-users.csv'), ['address', ...people.filter((p) => p.system === 'legacy').map((p) => p.address)].join('\n') + '\n');
    writeFileSync(join(demoDir, 'ldap-password'), `${lab.ldap?.password ?? ''}\n`, { mode: 0o600 });
    const webPort = await freePort().then((p) => (process.env.MAILBRIDGE_DEMO_PORT ? Number(process.env.MAILBRIDGE_DEMO_PORT) : p));
    writeFileSync(join(demoDir, 'mailbridge.yaml'), configYaml(lab, webPort, await freePort(), await hashPassword(WEB_PASSWORD)));
    const env = { ...process.env, MAILBRIDGE_DEMO_MASTER_LEGACY: lab.dovecot.legacy.masterPassword, MAILBRIDGE_DEMO_MASTER_CLOUD: lab.dovecot.cloud.masterPassword };

    console.log(`demo: ${people.length} people seeded; config written to demo/mailbridge.yaml\n`);
    console.log('demo: mailbridge check');
    await run(['check'], env);
    console.log(`
Try next (in another terminal, from ${root}):
  export MAILBRIDGE_CONFIG=demo/mailbridge.yaml MAILBRIDGE_DEMO_MASTER_LEGACY=${lab.dovecot.legacy.masterPassword} MAILBRIDGE_DEMO_MASTER_CLOUD=${lab.dovecot.cloud.masterPassword}
  node bin/mailbridge.js check --json          # every endpoint, as one JSON document
  node bin/mailbridge.js config print          # the effective config, secrets redacted
  curl http://127.0.0.1:${webPort}/metrics     # Prometheus metrics of the running service
  curl http://127.0.0.1:${webPort}/readyz
  npm run lab -- status demo/lab               # the lab's servers and their ports
Press Ctrl-C to stop mailbridge and the lab.
`);
    process.on('SIGINT', () => undefined); // serve gets the same SIGINT and exits; then we clean up
    console.log('demo: mailbridge serve');
    await run(['serve'], env);
  } finally {
    await shutdown();
  }
}

await main();
