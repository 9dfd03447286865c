/**
 * The demo: starts the lab of real servers in demo/lab, seeds it, writes
 * demo/mailbridge.yaml pointing at it, runs `mailbridge check` and then
 * `mailbridge serve` in the foreground. Ctrl-C stops serve and every lab server.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startLab, stopLab } from '../test/harness/lab.js';
import { freePort } from '../test/harness/process.js';
import { seedLab } from '../test/harness/seed.js';
import { writeLabConfig } from '../test/harness/lab-config.js';
import { hashPassword } from '../src/core/index.js';

const root = resolve(import.meta.dirname, '..');
const demoDir = join(root, 'demo');
const labDir = join(demoDir, 'lab');
const bin = join(root, 'bin', 'mailbridge.js');
const WEB_PASSWORD = 'demo';

function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [bin, '--config', join(demoDir, 'mailbridge.yaml'), ...args], { stdio: 'inherit', env });
    // Pass Ctrl-C / SIGTERM on (serve ignores a repeat when the terminal sent it too).
    const forward = (sig: NodeJS.Signals) => (): void => { child.kill(sig); };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('exit', (code) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      res(code ?? 1);
    });
  });
}

async function main(): Promise<void> {
  mkdirSync(demoDir, { recursive: true });
  // Each demo starts from scratch: stop a previous demo's servers, then drop its data.
  if (existsSync(join(labDir, 'lab.json'))) await stopLab(labDir);
  rmSync(labDir, { recursive: true, force: true });
  rmSync(join(demoDir, 'var'), { recursive: true, force: true });
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
    const webPort = process.env.MAILBRIDGE_DEMO_PORT ? Number(process.env.MAILBRIDGE_DEMO_PORT) : await freePort();
    writeLabConfig(demoDir, lab, { webPort, gatewayPort: await freePort(), passwordHash: await hashPassword(WEB_PASSWORD), comment: `password: ${WEB_PASSWORD}` }, people);
    const env = { ...process.env, MAILBRIDGE_DEMO_MASTER_LEGACY: lab.dovecot.legacy.masterPassword, MAILBRIDGE_DEMO_MASTER_CLOUD: lab.dovecot.cloud.masterPassword };

    console.log(`demo: ${people.length} people seeded; config written to demo/mailbridge.yaml\n`);
    console.log('demo: mailbridge check');
    const checked = await run(['check'], env);
    if (checked === 2) throw new Error('demo: the generated configuration was rejected (see above)');
    if (checked !== 0) console.log('demo: some endpoints failed the check (see above); serving anyway');
    const first = people[0]!.address;
    console.log(`
Try next (in another terminal, from ${root}):
  export MAILBRIDGE_CONFIG=demo/mailbridge.yaml MAILBRIDGE_DEMO_MASTER_LEGACY=${lab.dovecot.legacy.masterPassword} MAILBRIDGE_DEMO_MASTER_CLOUD=${lab.dovecot.cloud.masterPassword}
  node bin/mailbridge.js check --json                      # every endpoint, as one JSON document
  node bin/mailbridge.js config print                      # the effective config, secrets redacted
  node bin/mailbridge.js directory show ${first}    # the unified record (serve syncs the directory)
  node bin/mailbridge.js migrate plan                      # what moving legacy -> cloud would copy
  node bin/mailbridge.js migrate run --user ${first}
  node bin/mailbridge.js migrate verify --user ${first}
  node bin/mailbridge.js freebusy ${first}
  curl http://127.0.0.1:${webPort}/freebusy/${first}
  curl http://127.0.0.1:${webPort}/metrics                 # Prometheus metrics of the running service
  npm run lab -- status demo/lab                           # the lab's servers and their ports
Console: http://127.0.0.1:${webPort}/  (user admin, password ${WEB_PASSWORD})
Press Ctrl-C to stop mailbridge and the lab.
`);
    console.log('demo: mailbridge serve');
    await run(['serve'], env);
  } finally {
    await shutdown();
  }
}

await main();
