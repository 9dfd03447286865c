/** What one synthetic probe found: one row for the store's checks table and one observation for /metrics. */

/** The probe kinds, as endpoint names in the checks table (the overview shows them beside the endpoint checks). */
export const PROBE_ENDPOINTS = { mail: 'probe-mail', freebusy: 'probe-freebusy', ldap: 'probe-ldap' } as const;
export type ProbeKind = keyof typeof PROBE_ENDPOINTS;

export interface ProbeResult {
  system: string;
  kind: ProbeKind;
  ok: boolean;
  /** One line: what was done (ok) or which step failed and why. Never a password, never a message body. */
  detail: string;
  /** End to end (mail: from the SMTP submission until the message was seen over IMAP). */
  latencyMs: number;
  /** A stable reason code for alerting (e.g. PROBE_IMAP_UNREACHABLE). */
  code?: string;
}

/** Per system, what a probe round does there (the planner's answer, from the config). */
export interface ProbePlan {
  system: string;
  kinds: ProbeKind[];
}
