/**
 * The event catalogue: every log line mailbridge writes carries one of these names
 * in its `event` field, and every event is counted in
 * mailbridge_events_total{event, level}. New subsystems add their events here, so
 * operators have one list to alert on (as Stalwart does with its event types).
 */
export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EventSpec {
  level: EventLevel;
  description: string;
}

export const EVENTS = {
  'config.loaded': { level: 'info', description: 'Configuration file read and validated' },
  'config.invalid': { level: 'error', description: 'Configuration file rejected; the message names file, key and reason' },
  'store.opened': { level: 'info', description: 'Store opened and migrations applied' },
  'store.migrated': { level: 'info', description: 'A store schema migration was applied' },
  'store.failed': { level: 'error', description: 'The store could not be opened or a query failed' },
  'check.endpoint.ok': { level: 'info', description: 'An endpoint answered as expected' },
  'check.endpoint.failed': { level: 'warn', description: 'An endpoint could not be reached or answered wrongly' },
  'check.finished': { level: 'info', description: 'All configured endpoints were checked' },
  'service.starting': { level: 'info', description: 'mailbridge serve is starting its components' },
  'service.ready': { level: 'info', description: 'All enabled components are listening' },
  'service.stopping': { level: 'info', description: 'Shutdown requested; draining in-flight work' },
  'service.stopped': { level: 'info', description: 'Shutdown finished' },
  'service.crashed': { level: 'error', description: 'An unexpected error stopped a component' },
  'calendar.lookup.failed': { level: 'warn', description: 'A calendar source could not answer for an attendee (timeout, unreachable, denied, no calendar); the answer says so per attendee' },
  'calendar.event.skipped': { level: 'warn', description: 'An event or calendar from a source could not be read and contributes no busy time' },
  'calendar.expansion.truncated': { level: 'warn', description: 'Recurrence expansion stopped at the instance cap or the time limit' },
  'calendar.refresh.failed': { level: 'warn', description: 'A background refresh of a stale free/busy answer failed; the stale answer stays until it expires' },
  'calendar.access.denied': { level: 'info', description: 'A free/busy request was refused (network not allowed, token missing or wrong)' },
  // migration engine (issue 3)
  'migration.user.started': { level: 'info', description: 'A migration pass for one user started' },
  'migration.user.finished': { level: 'info', description: 'A migration pass for one user finished' },
  'migration.user.retrying': { level: 'warn', description: 'A migration pass lost its connection or was throttled; it reconnects after a backoff and resumes' },
  'migration.lane.skipped': { level: 'warn', description: 'A second set of connections for copying folders of a user in parallel could not be opened; the pass goes on with one' },
  'migration.concurrency.lowered': { level: 'warn', description: 'A server throttled the migration: fewer sessions on it for the rest of the run, after its suggested backoff' },
  'migration.user.failed': { level: 'error', description: 'A migration pass for one user failed; the reason is recorded in migrate status' },
  'migration.folder.synced': { level: 'info', description: 'One folder of one user was copied or re-synced' },
  'migration.folder.unchanged': { level: 'debug', description: 'A folder\'s HIGHESTMODSEQ is the one of the last pass (CONDSTORE): nothing to fetch' },
  'migration.folder.expunges': { level: 'debug', description: 'deleteOnTarget: how a delta pass learned what the source expunged (via qresync: VANISHED since the last pass; via list: every source UID against the state) and what it deleted on the target' },
  'migration.keywords.dropped': { level: 'warn', description: 'A message was copied without keywords that are not IMAP atoms (listed)' },
  'migration.folder.reconciled': { level: 'warn', description: 'Folder state lost or UIDVALIDITY changed: messages matched by content instead of copied again' },
  'migration.message.refused': { level: 'warn', description: 'The target (or a local limit) refused a message; it is recorded and the pass goes on' },
  'migration.intent.resolved': { level: 'info', description: 'An APPEND left in flight by a crash was found (or not) on the target by content' },
  'migration.verify.difference': { level: 'warn', description: 'migrate verify found a missing, extra or different message' },
  'migration.lease.claimed': { level: 'info', description: 'This worker claimed a user\'s migration lease (multi-node claiming; held for migration.leaseTime, renewed while copying)' },
  'migration.lease.takeover': { level: 'warn', description: 'This worker took over a user\'s lease from another worker: it expired (crashed or stalled worker) or its owner is a process of this host that is gone (reason)' },
  'migration.lease.released': { level: 'info', description: 'This worker released a user\'s migration lease at the end of its pass' },
  'migration.lease.busy': { level: 'info', description: 'A user\'s lease is held by another live worker: the user is skipped by this run (busy, not failed)' },
  // directory sync (issue 5)
  'directory.sync.started': { level: 'info', description: 'A directory sync run started' },
  'directory.sync.finished': { level: 'info', description: 'A directory sync run finished; counts of adds, changes, deletes and conflicts' },
  'directory.sync.stopped': { level: 'error', description: 'A directory sync stopped before writing: deletion guard or a source returned no people' },
  'directory.sync.failed': { level: 'error', description: 'A directory sync run failed (a source or a system could not be reached)' },
  'directory.conflict': { level: 'warn', description: 'An address is claimed twice (two systems, or a person and a hand-made object); reported, never overwritten' },
  'directory.contact.failed': { level: 'error', description: 'Writing one contact into a system failed; the run goes on' },
  'directory.export.written': { level: 'info', description: 'Postfix maps written (and postmap run when available)' },
  // console (issue 7)
  'console.login.succeeded': { level: 'info', description: 'A console user logged in' },
  'console.login.failed': { level: 'warn', description: 'A console login was refused (unknown name or wrong password)' },
  'console.login.throttled': { level: 'warn', description: 'A console login was refused unchecked: too many failures from that address or for that name' },
  'console.logout': { level: 'info', description: 'A console user logged out' },
  'console.csrf.rejected': { level: 'warn', description: 'A state-changing console request came without its session\'s CSRF token' },
  'console.action': { level: 'info', description: 'A console user ran an action (recorded in the audit log)' },
  'console.audit.failed': { level: 'error', description: 'An audit log entry could not be written to the store' },
  'console.sample.failed': { level: 'warn', description: 'The console could not record its once-a-minute chart samples (queue depth, delivery latency, migration throughput); the charts show a gap' },
  // synthetic probes and serve's schedule (issue 7)
  'probe.failed': { level: 'warn', description: 'A synthetic probe (mail round trip, free/busy or LDAP lookup) failed on a system; the reason names the step' },
  'probe.recovered': { level: 'info', description: 'A synthetic probe succeeded again after a failure' },
  'probe.round.finished': { level: 'info', description: 'A round of synthetic probes finished; counts of passed and failed probes' },
  'migration.delta.started': { level: 'info', description: 'serve started a scheduled migration delta pass (migration.schedule)' },
  'migration.delta.finished': { level: 'info', description: 'A scheduled migration delta pass finished; users passed, failed and skipped (cut over)' },
  'service.shutdown.parked': { level: 'warn', description: 'Shutdown did not wait for a piece of in-flight work; it resumes from its saved state at the next start' },
  // gateway (issue 4)
  'gateway.started': { level: 'info', description: 'The SMTP gateway listens and its delivery queue runs' },
  'gateway.stopped': { level: 'info', description: 'The SMTP gateway stopped' },
  'gateway.listener.error': { level: 'error', description: 'An SMTP listener reported an error' },
  'gateway.message.queued': { level: 'info', description: 'A message was written to the spool and answered 250' },
  'gateway.message.refused': { level: 'info', description: 'A message was refused at the end of DATA (size, bare LF/CR, NUL, long line, loop)' },
  'gateway.spool.failed': { level: 'error', description: 'The spool could not be written; the client got 451' },
  'gateway.spool.quarantined': { level: 'error', description: 'A damaged spool file was found at start and moved to quarantine/' },
  'gateway.spool.maintenance': { level: 'error', description: 'Spool housekeeping (moving long-queued messages out of old segments, journal compaction, unlinks) failed; retried' },
  'gateway.loop.detected': { level: 'warn', description: 'A message came back with our signed hop header for the same route, or too many Received headers: refused with 5.4.6' },
  'gateway.delivery.delivered': { level: 'info', description: 'Recipients were delivered (the remote reply is in the tracking log)' },
  'gateway.delivery.deferred': { level: 'warn', description: 'A delivery attempt failed temporarily; the recipient stays queued for the next retry' },
  'gateway.delivery.bounced': { level: 'warn', description: 'A recipient failed permanently (5xx, or too long in the queue)' },
  'gateway.dsn.queued': { level: 'info', description: 'A delivery status notification (failed or delayed) was queued to the sender' },
  'gateway.dsn.suppressed': { level: 'info', description: 'No DSN was sent: null sender, Auto-Submitted, a DSN, or NOTIFY said not to' },
  'gateway.queue.changed': { level: 'info', description: 'A queue command (hold, release, retry, delete) was applied' },
  'gateway.pickup.queued': { level: 'info', description: 'A file from the pickup folder was queued' },
  'gateway.pickup.failed': { level: 'warn', description: 'A file in the pickup folder could not be queued; it was moved aside' },
  'gateway.tracking.failed': { level: 'warn', description: 'A tracking event could not be written to the store; delivery goes on' },
  'gateway.hold.loaded': { level: 'info', description: 'A gateway node loaded a new set of cutover holds (addresses whose mail stays queued)' },
  'gateway.hold.failed': { level: 'warn', description: 'The cutover holds could not be read from the store; the last loaded set stays in force' },
  'cutover.started': { level: 'info', description: 'A cutover (or rollback) of one user started' },
  'cutover.step': { level: 'info', description: 'A cutover step finished (hold, acknowledged, delta, verify, flip, release)' },
  'cutover.done': { level: 'info', description: 'A user was cut over (or rolled back): routing flipped, held mail released' },
  'cutover.refused': { level: 'warn', description: 'A cutover was refused by its pre-checks (last pass, verify, target reachable); nothing changed' },
  'cutover.failed': { level: 'error', description: 'A cutover step failed; the user was returned to the state before the hold and held mail released to the old system' },
  'cutover.gateway.absent': { level: 'warn', description: 'No gateway node has a recent heartbeat: the cutover proceeds without waiting for an acknowledgement' },
  'cutover.wave.started': { level: 'info', description: 'A cutover wave (migration.waves) started its pre-cutover delta pass or its cutover' },
  'cutover.wave.finished': { level: 'info', description: 'A cutover wave finished; its report (done, failed, time held) is stored' },
} as const satisfies Record<string, EventSpec>;

export type EventName = keyof typeof EVENTS;

export function eventSpec(name: EventName): EventSpec {
  return EVENTS[name];
}
