/** Reason codes of failed probes (details in the probe's one-line detail). */
export const ProbeErrors = {
  PROBE_SUBMIT_FAILED: 'PROBE_SUBMIT_FAILED',
  PROBE_IMAP_UNREACHABLE: 'PROBE_IMAP_UNREACHABLE',
  PROBE_IMAP_LOGIN_FAILED: 'PROBE_IMAP_LOGIN_FAILED',
  PROBE_IMAP_FAILED: 'PROBE_IMAP_FAILED',
  PROBE_NOT_ARRIVED: 'PROBE_NOT_ARRIVED',
  PROBE_NO_LOGIN: 'PROBE_NO_LOGIN',
  PROBE_FREEBUSY_FAILED: 'PROBE_FREEBUSY_FAILED',
  PROBE_LDAP_FAILED: 'PROBE_LDAP_FAILED',
  PROBE_TIMEOUT: 'PROBE_TIMEOUT',
} as const;
export type ProbeErrorCode = keyof typeof ProbeErrors;

/** A failed step of a probe: the code and the one line the light shows. */
export class ProbeFailure extends Error {
  constructor(readonly code: ProbeErrorCode, message: string) {
    super(message);
  }
}

const NET = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|CONNECT_TIMEOUT|GREETING_TIMEOUT|NoConnection|ETIMEDOUT)$/;

/** The short reason of a library error, without its stack: "connection refused (ECONNREFUSED)". */
export function shortReason(err: unknown): string {
  const e = err as { code?: unknown; responseText?: unknown; response?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code && NET.test(code)) return `network error (${code})`;
  const text = typeof e.responseText === 'string' ? e.responseText : typeof e.response === 'string' ? e.response : typeof e.message === 'string' ? e.message : String(err);
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && NET.test(code);
}
