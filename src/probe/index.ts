/**
 * Synthetic probes (issue 7): per system a real message through the gateway to
 * its probe mailbox (read back and deleted over IMAP), a free/busy lookup and an
 * LDAP lookup, recorded as probe-* checks, metrics and events; and the routing
 * that sends probe mailboxes to their own system.
 */
export { Prober, planProbes, type ProberOptions } from './prober.js';
export { probeMail, probeMessage, describeVia, PROBE_HEADER, type SubmitVia, type MailProbeTarget } from './mail.js';
export { ProbeAwareResolver } from './resolver.js';
export { probeMetrics, type ProbeMetrics } from './metrics.js';
export { repeat, type Repeater } from './schedule.js';
export { ProbeErrors, type ProbeErrorCode } from './errors.js';
export { PROBE_ENDPOINTS, type ProbeKind, type ProbePlan, type ProbeResult } from './types.js';
