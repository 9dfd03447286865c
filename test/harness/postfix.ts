/**
 * Postfix 3.7 as the lab's backend MTA: its own config_directory, queue and data
 * directories under DIR/postfix/, smtpd on a free loopback port, every mail for
 * example.com handed over LMTP to one lab Dovecot.
 *
 * Postfix's master is the one lab server that starts as root: it binds, then
 * runs each daemon as mail_owner itself (master(8), postconf(5) mail_owner).
 * Nothing in /etc/postfix is written: `postfix -c DIR check` only creates the
 * missing queue directories of DIR (postfix-script check-fatal runs
 * `post-install create-missing`) and warns; /etc/postfix is only read for
 * postfix-files (meta_directory).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LAB_HOST, delay, freePort, labUser, logTail, spawnServer, stopPid, waitForGreeting } from './process.js';
import { LAB_DOMAIN, type DovecotInfo, type PostfixInfo, type ServerRecord } from './types.js';

const run = promisify(execFile);
const MASTER = '/usr/lib/postfix/sbin/master';
const POSTFIX = '/usr/sbin/postfix';

interface Layout { root: string; configDir: string; queueDir: string; dataDir: string; logFile: string }

function layoutFor(dir: string): Layout {
  const root = join(dir, 'postfix');
  return {
    root, configDir: join(root, 'etc'), queueDir: join(root, 'queue'),
    dataDir: join(root, 'data'), logFile: join(root, 'maillog'),
  };
}

export async function startPostfix(dir: string, target: DovecotInfo): Promise<{ info: PostfixInfo; server: ServerRecord }> {
  if (!labUser().root) {
    throw new Error('postfix: the lab starts Postfix\'s master as root (it drops to mail_owner itself); run the tests as root');
  }
  const layout = layoutFor(dir);
  allowTraversal(dir);
  const smtpPort = await freePort();
  // Root-owned on purpose: postfix check warns about a config or queue
  // directory "not owned by root" (postfix-script check-warn).
  for (const d of [layout.configDir, layout.queueDir]) mkdirSync(d, { recursive: true, mode: 0o755 });
  writeFileSync(join(layout.configDir, 'main.cf'), mainCf(layout, target));
  writeFileSync(join(layout.configDir, 'master.cf'), masterCf(smtpPort));
  writeFileSync(layout.logFile, '');
  await postfixCheck(layout);
  // master(8) runs in the foreground unless -w; -s keeps stdout/stderr (fatal
  // start-up errors) in our log. spawnServer's own session makes master the
  // process-group leader, as `postfix stop` expects.
  const child = spawnServer({
    name: 'postfix', command: MASTER, args: ['-c', layout.configDir, '-s'], logFile: join(layout.root, 'master.out'),
    env: { MAIL_CONFIG: layout.configDir }, dropPrivileges: false,
  });
  const server: ServerRecord = { name: 'postfix', pid: child.pid, logFile: layout.logFile };
  try {
    await waitForGreeting({ name: 'postfix smtpd', port: smtpPort, pid: child.pid, logFile: layout.logFile, expect: /^220 /m });
  } catch (err) {
    await stopGroup(child.pid);
    throw new Error(`${(err as Error).message}${logTail(join(layout.root, 'master.out'))}`, { cause: err });
  }
  const info: PostfixInfo = { smtpPort, configDir: layout.configDir, queueDir: layout.queueDir, deliversTo: target.system };
  return { info, server };
}

/**
 * Postfix's daemons run as mail_owner and open data_directory by absolute path,
 * so every ancestor must be searchable by others. A lab dir from mkdtemp is 0700:
 * add the search bit only (no listing); refuse if a higher ancestor is closed.
 */
function allowTraversal(dir: string): void {
  const mode = statSync(dir).mode;
  if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
  for (let d = dirname(resolve(dir)); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(`postfix: mail_owner postfix cannot enter ${d} (no search permission for others); start the lab under a searchable directory`);
    }
    if (d === '/') return;
  }
}

/** Creates the queue layout with Postfix's own owners and modes (postfix-files). */
async function postfixCheck(layout: Layout): Promise<void> {
  try {
    await run(POSTFIX, ['-c', layout.configDir, 'check'], { env: { ...process.env, MAIL_CONFIG: layout.configDir } });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`postfix: \`postfix -c ${layout.configDir} check\` failed: ${e.stderr || e.message}${logTail(layout.logFile)}`, { cause: err });
  }
}

function mainCf(layout: Layout, target: DovecotInfo): string {
  const settings: Array<[string, string]> = [
    ['compatibility_level', '3.6'],
    ['queue_directory', layout.queueDir],
    ['data_directory', layout.dataDir],
    ['mail_owner', 'postfix'],
    ['setgid_group', 'postdrop'],
    ['myhostname', 'backend.lab.test'],
    ['mydomain', 'lab.test'],
    ['myorigin', '$myhostname'],
    ['mydestination', ''],
    ['inet_interfaces', LAB_HOST],
    ['inet_protocols', 'ipv4'],
    ['mynetworks', '127.0.0.0/8'],
    ['smtpd_relay_restrictions', 'permit_mynetworks, reject_unauth_destination'],
    // No DNS on lab machines: the LMTP next hop is an IP literal; native lookups
    // (hosts file) instead of DNS; no reverse lookup of the client.
    ['smtp_dns_support_level', 'disabled'],
    ['smtp_host_lookup', 'native'],
    ['lmtp_host_lookup', 'native'],
    ['smtpd_peername_lookup', 'no'],
    // Every recipient of the domain goes to Dovecot, which rejects unknown users
    // itself (virtual_mailbox_maps empty = no recipient check in smtpd, postconf(5)
    // smtpd_reject_unlisted_recipient).
    ['virtual_mailbox_domains', LAB_DOMAIN],
    ['virtual_transport', `lmtp:inet:${LAB_HOST}:${target.lmtpPort}`],
    // No /etc/aliases, no local delivery.
    ['alias_maps', ''],
    ['alias_database', ''],
    ['local_recipient_maps', ''],
    ['biff', 'no'],
    // Postfix 3.4+ postlogd writes here (no syslog needed); the file must lie
    // under maillog_file_prefixes, which defaults to "/var, /dev/stdout".
    ['maillog_file', layout.logFile],
    ['maillog_file_prefixes', layout.root],
    ['smtputf8_enable', 'yes'],
    ['smtpd_banner', '$myhostname ESMTP lab backend'],
  ];
  return settings.map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}

/**
 * Only the services this MTA uses, from /usr/share/postfix/master.cf.dist but
 * with chroot "n" everywhere: a chroot under queue_directory would need copies of
 * /etc files, and the lab's queue is a throwaway. `postlog` is required when
 * maillog_file is set (postfix-script check-fatal refuses to start without it).
 */
function masterCf(smtpPort: number): string {
  const services = [
    `${LAB_HOST}:${smtpPort} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return services.join('\n') + '\n';
}

/**
 * SIGTERM to master, which terminates its whole process group (master(8):
 * "SIGTERM: Terminate ... all Postfix processes"), then waits until the master PID
 * and every daemon of its group are gone.
 */
export async function stopPostfix(_info: PostfixInfo, server: ServerRecord): Promise<void> {
  await stopGroup(server.pid);
}

async function stopGroup(pgid: number, graceMs = 5000): Promise<void> {
  await stopPid(pgid, graceMs);
  const deadline = Date.now() + graceMs;
  while (groupMembers(pgid).length > 0 && Date.now() < deadline) await delay(25);
  if (groupMembers(pgid).length > 0) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    while (groupMembers(pgid).length > 0) await delay(25);
  }
}

/** PIDs whose process group is pgid (field 5 of /proc/PID/stat, proc(5)). */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(name));
    } catch { /* exited while we looked */ }
  }
  return pids;
}
