/**
 * Seeds a running lab with a small, realistic organization: people in each
 * system's LDAP OU, their mailboxes in that system's Dovecot (a few messages in
 * INBOX, Sent and a project folder, with flags), and a calendar with events in
 * Radicale. Used by the demo; deterministic, so two runs look alike.
 */
import { appendFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { DovecotInfo, LabInfo } from './types.js';
import { LAB_DOMAIN } from './types.js';
import { addPerson, type LabPerson } from './slapd.js';
import { waitForMailUser } from './dovecot.js';
import { addCalendarUser, putEvent, icalUtc } from './radicale.js';

const FIRST = ['Anna', 'Ben', 'Clara', 'David', 'Eva', 'Felix', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Katja', 'Lars', 'Mia', 'Noah', 'Olga', 'Paul', 'Rosa', 'Sven', 'Tara', 'Uwe', 'Vera', 'Wim', 'Xenia', 'Yannick', 'Zoe', 'Amir', 'Bea', 'Chen', 'Dana', 'Emil'];
const LAST = ['Schmidt', 'Müller', 'Jansen', 'Dubois', 'Rossi', 'Nowak', 'Berg', 'Costa', 'Lindqvist', 'Okafor', 'Tanaka', 'Weber', 'Moreau', 'Visser', 'Kowalski'];
const TITLES = ['Engineer', 'Accountant', 'Sales Manager', 'Support Lead', 'Designer', 'Analyst'];

export interface SeedPerson {
  system: 'legacy' | 'cloud';
  address: string;
  password: string;
  name: string;
  local: string;
}

export interface SeedOptions {
  peoplePerSystem?: number;
  messagesPerUser?: number;
}

export function demoPeople(perSystem: number): SeedPerson[] {
  const people: SeedPerson[] = [];
  (['legacy', 'cloud'] as const).forEach((system, s) => {
    for (let i = 0; i < perSystem; i++) {
      const n = s * perSystem + i;
      const first = FIRST[n % FIRST.length]!;
      const last = LAST[(n * 7 + s) % LAST.length]!;
      const local = `${first}.${last}`.toLowerCase().normalize('NFD').replace(/[^a-z.]/g, '') + (n >= FIRST.length ? String(n) : '');
      people.push({ system, local, address: `${local}@${LAB_DOMAIN}`, password: `pw-${local}`, name: `${first} ${last}` });
    }
  });
  return people;
}

function message(from: SeedPerson, to: SeedPerson, i: number, date: Date): string {
  return [
    `From: ${from.name} <${from.address}>`,
    `To: ${to.name} <${to.address}>`,
    `Subject: ${['Quarterly figures', 'Lunch on Friday?', 'Project Falcon: next steps', 'Re: travel plans', 'Budget 2027'][i % 5]}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <seed-${i}-${from.local}-${to.local}@${LAB_DOMAIN}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `Hello ${to.name.split(' ')[0]},`,
    '',
    `this is message ${i} of the demo mailbox. Grüße, ${from.name}.`,
    '',
  ].join('\r\n');
}

async function fillMailbox(dv: DovecotInfo, p: SeedPerson, peers: SeedPerson[], count: number): Promise<void> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dv.imapPort, secure: false, logger: false,
    auth: { user: `${p.address}*${dv.masterUser}`, pass: dv.masterPassword } });
  await client.connect();
  try {
    const sep = dv.hierarchySeparator;
    await client.mailboxCreate(`Projects${sep}Falcon`).catch(() => undefined);
    for (let i = 0; i < count; i++) {
      const peer = peers[(i * 3 + p.local.length) % peers.length]!;
      const date = new Date(Date.UTC(2026, 9, 1 + (i % 28), 8 + (i % 9), 15));
      const folder = i % 4 === 3 ? 'Sent' : i % 5 === 4 ? `Projects${sep}Falcon` : 'INBOX';
      const fromPeer = folder !== 'Sent';
      const flags = i % 3 === 0 ? [] : i % 7 === 0 ? ['\\Seen', '\\Flagged'] : ['\\Seen'];
      await client.append(folder, message(fromPeer ? peer : p, fromPeer ? p : peer, i, date), flags, date);
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
}

function event(uid: string, start: Date, hours: number, summary: string, extra: string[] = []): string {
  const end = new Date(start.getTime() + hours * 3_600_000);
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//mailbridge//demo seed//EN', 'BEGIN:VEVENT',
    `UID:${uid}`, `DTSTAMP:${icalUtc(new Date())}`, `DTSTART:${icalUtc(start)}`, `DTEND:${icalUtc(end)}`,
    `SUMMARY:${summary}`, ...extra, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

async function fillCalendar(lab: LabInfo, p: SeedPerson, index: number): Promise<void> {
  if (!lab.radicale) return;
  const cal = await addCalendarUser(lab.radicale, p.local, p.password);
  const day = new Date();
  day.setUTCHours(0, 0, 0, 0);
  const at = (d: number, h: number): Date => new Date(day.getTime() + d * 86_400_000 + h * 3_600_000);
  await putEvent(lab.radicale, cal.calendarUrl, `standup-${p.local}`, event(`standup-${p.local}`, at(0, 8), 0.25, 'Stand-up', ['RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=60']));
  await putEvent(lab.radicale, cal.calendarUrl, `review-${p.local}`, event(`review-${p.local}`, at(1 + (index % 4), 13), 1.5, 'Design review'));
  await putEvent(lab.radicale, cal.calendarUrl, `maybe-${p.local}`, event(`maybe-${p.local}`, at(2, 15), 1, 'Customer call', ['STATUS:TENTATIVE']));
}

/** Seeds LDAP, Dovecot and Radicale; returns the people it made. */
export async function seedLab(lab: LabInfo, opts: SeedOptions = {}): Promise<SeedPerson[]> {
  const people = demoPeople(opts.peoplePerSystem ?? 30);
  // One append per Dovecot, then wait until it has re-read the file (it checks
  // the passwd-file's mtime at most once a second).
  for (const system of ['legacy', 'cloud'] as const) {
    const mine = people.filter((p) => p.system === system);
    if (mine.length === 0) continue;
    appendFileSync(lab.dovecot[system].passwdFile, mine.map((p) => `${p.address}:{PLAIN}${p.password}::::::\n`).join(''));
    await waitForMailUser(lab.dovecot[system], mine[mine.length - 1]!.address);
  }
  const work: Promise<unknown>[] = [];
  for (const [i, p] of people.entries()) {
    const [given, ...rest] = p.name.split(' ');
    const person: LabPerson = { uid: p.local, cn: p.name, sn: rest.join(' '), givenName: given, mail: p.address, displayName: p.name, title: TITLES[i % TITLES.length] };
    if (lab.ldap) work.push(addPerson(lab.ldap, p.system, person));
  }
  await Promise.all(work);
  const peers = people;
  // Sequential per system keeps the demo seed gentle on a 2-core machine.
  for (const [i, p] of people.entries()) {
    await fillMailbox(lab.dovecot[p.system], p, peers, opts.messagesPerUser ?? 12);
    await fillCalendar(lab, p, i);
  }
  return people;
}
