/**
 * IMAP endpoint check: greeting, STARTTLS when configured, CAPABILITY, and the
 * admin login when `admin` is set, then LOGOUT.
 *
 * How the admin login is proven. A Dovecot master user cannot log in alone: it
 * always logs in *as* someone ("<user>*<master>", or SASL PLAIN with the user as
 * authzid). So the check needs a target user. Dovecot 2.3 (seen in the lab, and
 * with `pass = yes` as well as without) answers:
 *   - wrong master password, any target:        NO [AUTHENTICATIONFAILED] Authentication failed.
 *   - right master password, target exists:     OK [CAPABILITY ...] Logged in
 *   - right master password, no such target:    NO [AUTHORIZATIONFAILED] Authorization failed
 *                                               (with pass = no: NO [UNAVAILABLE] Internal error ...)
 *   - "master*master" with the right password:  NO [AUTHENTICATIONFAILED] (so that probe proves nothing)
 * The check therefore logs in as "<probe>*<admin>" (mode master) or as authzid
 * <probe> with authcid <admin> (mode authzid, SASL PLAIN). The probe is, in this
 * order: CheckOptions.probeUsers[system], the first address of the system's
 * users CSV, the first `mail` in its LDAP (run.ts finds it), else a made-up name.
 * With a real mailbox the login succeeds and the summary lists the post-login
 * capabilities (Dovecot shows UIDPLUS, CONDSTORE, QRESYNC ... only after login).
 * AUTHORIZATIONFAILED proves the admin password all the same (RFC 5530 section
 * 3: the authentication identity was accepted, acting as that user was not), so
 * it passes, saying so and that the capabilities are the pre-login ones; except
 * for a probe user the operator named explicitly, where it fails. The made-up
 * probe is the last resort (CheckOptions.madeUpProbe: false skips the admin
 * login instead, for scheduled checks): Dovecot counts it as a failed login, and failed
 * logins from one IP raise its auth penalty (2s, 4s, 8s, up to 15s per login
 * until a login succeeds), so repeated checks without a real probe slow down the
 * next logins from this host. AUTHENTICATIONFAILED (or a bare NO) is always
 * CHECK_AUTH "bad credentials (login rejected: ...)".
 */
import { checkFailure, remoteAnswer } from './errors.js';
import { LineSocket } from './line-socket.js';
import type { Probe } from './probe.js';
import type { CheckTarget } from './types.js';
import {
  hasCapability, imapCapabilities, imapQuoted, notableImapCapabilities, parseImapStatus, saslPlain,
  type ImapStatusLine,
} from './wire.js';

type ImapConfig = NonNullable<CheckTarget['imap']>;

/** The target of the admin login and where it came from (see above). */
export type ProbeUser =
  | { address: string; source: 'option' | 'users' | 'ldap' }
  /** No mailbox known: log in as a made-up user when `madeUp`, else skip the admin login and say so. */
  | { source: 'none'; madeUp: boolean };

/** A local part no mailbox has; used when no probe user is known. */
export const PROBE_NOBODY = 'mailbridge-check-probe-nobody';

const MAX_UNTAGGED = 500;

interface Session {
  sock: LineSocket;
  tag: number;
  caps: string[];
  secure: boolean;
}

export async function checkImap(p: Probe, cfg: ImapConfig, insecure: boolean, probe: ProbeUser): Promise<string> {
  const sock = await LineSocket.open(p, { host: cfg.host, port: cfg.port, implicitTls: cfg.tls === 'implicit', insecure });
  const s: Session = { sock, tag: 0, caps: [], secure: cfg.tls === 'implicit' };
  p.step('the greeting');
  const greeting = parseImapStatus(await sock.readLine());
  if (!greeting || greeting.tag !== '*' || (greeting.status !== 'OK' && greeting.status !== 'PREAUTH')) {
    throw remoteAnswer({ protocol: 'imap', step: 'the greeting', status: greeting?.status ?? '?', text: greeting?.text ?? 'not an IMAP greeting' });
  }
  p.details.greeting = `* ${greeting.status} ${greeting.text}`;
  const parts = [`* ${greeting.status} greeting`];

  if (cfg.tls === 'starttls') {
    await refreshCapabilities(p, s);
    if (!hasCapability(s.caps, 'STARTTLS')) throw checkFailure('CHECK_TLS', `tls is starttls but the server does not offer STARTTLS (${s.caps.join(' ')})`);
    await command(p, s, 'STARTTLS', 'STARTTLS');
    await sock.upgrade(p, cfg.host, insecure);
    s.secure = true;
    s.caps = []; // RFC 9051 section 6.2.1: forget capabilities learned before TLS
    parts.push('STARTTLS ok');
  }
  await refreshCapabilities(p, s);

  let capsNote = '';
  if (cfg.admin && probe.source === 'none' && !probe.madeUp) {
    parts.push(`admin login not tried (no probe mailbox known for ${cfg.admin.user} to log in as)`);
    capsNote = ' (pre-login)';
  } else if (cfg.admin && greeting.status !== 'PREAUTH') {
    const login = await adminLogin(p, s, cfg.admin, probe);
    parts.push(login.said);
    // RFC 9051 section 7.2.2: the OK of a login may carry the new capabilities; else ask again.
    if (login.loggedIn && !login.inlineCaps) await refreshCapabilities(p, s);
    if (!login.loggedIn) capsNote = ' (pre-login)';
  }
  p.details.capabilities = s.caps;
  parts.push(`${notableImapCapabilities(s.caps).join(' ')}${capsNote}`);

  await logout(p, s);
  return parts.join(', ');
}

async function adminLogin(
  p: Probe, s: Session, admin: NonNullable<ImapConfig['admin']>, probe: ProbeUser,
): Promise<{ loggedIn: boolean; inlineCaps?: boolean; said: string }> {
  if (hasCapability(s.caps, 'LOGINDISABLED') && !s.secure) {
    throw checkFailure('CHECK_TLS', 'the server refuses logins on an unencrypted connection (LOGINDISABLED); set tls: starttls or implicit');
  }
  const target = probe.source === 'none' ? PROBE_NOBODY : probe.address;
  p.details.loginAs = admin.mode === 'master' ? `${target}*${admin.user}` : `${admin.user} (authzid ${target})`;
  p.details.probeSource = probe.source;
  const { answer, step } = await sendLogin(p, s, admin, target);
  const how = admin.mode === 'master' ? `login ${admin.user}` : `login ${admin.user} (authzid)`;
  if (answer.status === 'OK') {
    const inline = answer.code ? imapCapabilities(answer.code) : null;
    if (inline) s.caps = inline;
    return { loggedIn: true, inlineCaps: inline !== null, said: `${how} ok as ${target}` };
  }
  const code = (answer.code ?? '').toUpperCase();
  const said = `NO [${code}] ${answer.text}`;
  if (answer.status === 'NO' && code === 'AUTHORIZATIONFAILED') {
    if (probe.source === 'option') {
      throw checkFailure('CHECK_AUTH', `admin password accepted, but acting as ${target} refused (${said})`);
    }
    const why = probe.source === 'none' ? 'a made-up probe user refused as expected' : `acting as ${target} (from ${probe.source}) refused`;
    return { loggedIn: false, said: `${how} ok (password accepted; ${why})` };
  }
  if (answer.status === 'NO' && (code === 'AUTHENTICATIONFAILED' || code === '')) {
    throw remoteAnswer({ protocol: 'imap', step, status: `NO${code ? ` [${code}]` : ''}`, text: answer.text });
  }
  throw checkFailure('CHECK_PROTOCOL', `unexpected answer to the admin ${step} as ${target}: "${answer.status}${code ? ` [${code}]` : ''} ${answer.text}"` +
    (probe.source === 'none' ? '; name an existing mailbox as probe user for this system' : ''));
}

/** LOGIN "<user>*<admin>" for master mode; SASL PLAIN (authzid, authcid) when it is offered or needed. */
async function sendLogin(
  p: Probe, s: Session, admin: NonNullable<ImapConfig['admin']>, target: string,
): Promise<{ answer: ImapStatusLine; step: 'LOGIN' | 'AUTHENTICATE' }> {
  const password = admin.password.reveal();
  const plain = hasCapability(s.caps, 'AUTH=PLAIN');
  if (admin.mode === 'authzid' || plain) {
    if (!plain) throw checkFailure('CHECK_PROTOCOL', 'admin mode authzid needs SASL PLAIN, and the server does not offer AUTH=PLAIN');
    const blob = admin.mode === 'authzid' ? saslPlain(target, admin.user, password) : saslPlain('', `${target}*${admin.user}`, password);
    const tag = `c${++s.tag}`;
    p.step('the AUTHENTICATE answer');
    if (hasCapability(s.caps, 'SASL-IR')) {
      s.sock.write(`${tag} AUTHENTICATE PLAIN ${blob}`); // RFC 4959: initial response on the command line
    } else {
      s.sock.write(`${tag} AUTHENTICATE PLAIN`);
      const cont = await s.sock.readLine();
      if (!cont.startsWith('+')) return { answer: await tagged(s, tag, 'AUTHENTICATE', cont), step: 'AUTHENTICATE' };
      s.sock.write(blob);
    }
    return { answer: await tagged(s, tag, 'AUTHENTICATE'), step: 'AUTHENTICATE' };
  }
  const user = imapQuoted(`${target}*${admin.user}`);
  const pass = imapQuoted(password);
  if (!user || !pass) throw checkFailure('CHECK_PROTOCOL', 'the admin user or password needs an IMAP literal, and the server does not offer AUTH=PLAIN');
  const tag = `c${++s.tag}`;
  p.step('the LOGIN answer');
  s.sock.write(`${tag} LOGIN ${user} ${pass}`);
  return { answer: await tagged(s, tag, 'LOGIN'), step: 'LOGIN' };
}

/** CAPABILITY (RFC 9051 section 6.1.1). */
async function refreshCapabilities(p: Probe, s: Session): Promise<void> {
  const untagged: string[] = [];
  await command(p, s, 'CAPABILITY', 'CAPABILITY', untagged);
  for (const line of untagged) {
    const caps = imapCapabilities(line);
    if (caps) { s.caps = caps; return; }
  }
}

async function command(p: Probe, s: Session, cmd: string, step: string, untagged: string[] = []): Promise<ImapStatusLine> {
  const tag = `c${++s.tag}`;
  p.step(`the ${step} answer`);
  s.sock.write(`${tag} ${cmd}`);
  const r = await tagged(s, tag, step, undefined, untagged);
  if (r.status !== 'OK') throw remoteAnswer({ protocol: 'imap', step, status: r.status, text: r.code ? `[${r.code}] ${r.text}` : r.text });
  return r;
}

/** Reads untagged lines until the tagged status line of `tag`. */
async function tagged(s: Session, tag: string, step: string, first?: string, untagged: string[] = []): Promise<ImapStatusLine> {
  let line = first ?? await s.sock.readLine();
  for (let n = 0; n < MAX_UNTAGGED; n++) {
    const st = parseImapStatus(line);
    if (st && st.tag === tag) return st;
    if (st && st.tag === '*' && st.status === 'BYE') {
      throw remoteAnswer({ protocol: 'imap', step, status: 'BYE', text: st.text });
    }
    untagged.push(line);
    line = await s.sock.readLine();
  }
  throw checkFailure('CHECK_PROTOCOL', `no tagged answer after ${MAX_UNTAGGED} lines`);
}

async function logout(p: Probe, s: Session): Promise<void> {
  const tag = `c${++s.tag}`;
  p.step('the LOGOUT answer');
  s.sock.write(`${tag} LOGOUT`);
  // RFC 9051 section 6.1.3: "* BYE" then the tagged OK; some servers close right after BYE.
  for (;;) {
    let line: string;
    try { line = await s.sock.readLine(); } catch { break; }
    const st = parseImapStatus(line);
    if (st?.tag === tag) break;
  }
  s.sock.close();
}
