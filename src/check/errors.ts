/**
 * The codes of the check subsystem. The first seven are what a result carries
 * (EndpointResult.error.code, also in --json); CHECK_ANSWER and CHECK_DEADLINE
 * are internal: a check throws them and classify.ts turns them into one of the seven.
 */
import { MbError } from '../core/index.js';

export const CHECK_ERROR_CODES = [
  'CHECK_REFUSED',
  'CHECK_TIMEOUT',
  'CHECK_TLS',
  'CHECK_AUTH',
  'CHECK_PROTOCOL',
  'CHECK_NOT_FOUND',
  'CHECK_DNS',
] as const;
export type CheckErrorCode = (typeof CHECK_ERROR_CODES)[number];

export const CheckErrors = {
  /** A remote answer that ended the check (SMTP reply, IMAP NO/BAD, LDAP result, HTTP status). */
  CHECK_ANSWER: 'CHECK_ANSWER',
  /** Our own per-endpoint timer fired. */
  CHECK_DEADLINE: 'CHECK_DEADLINE',
  /** The peer closed the connection while we waited for something. */
  CHECK_CLOSED: 'CHECK_CLOSED',
} as const;

export type AnswerProtocol = 'smtp' | 'imap' | 'ldap' | 'http';

/** What classify.ts reads from a CHECK_ANSWER error. */
export interface RemoteAnswer {
  protocol: AnswerProtocol;
  /** The command or request it answered: "EHLO", "LOGIN", "bind", "PROPFIND". */
  step: string;
  /** SMTP reply code, IMAP status (OK/NO/BAD) with its response code, LDAP result code, HTTP status. */
  status: string | number;
  /** The server's own text (one line), quoted in the reason. */
  text: string;
  /** What the step was about, when the reason should name it: "base DN ou=x,dc=y". */
  subject?: string;
}

export function remoteAnswer(a: RemoteAnswer): MbError {
  return new MbError(CheckErrors.CHECK_ANSWER, `${a.step}: ${a.status} ${a.text}`, {
    details: { ...a },
  });
}

/** A failure the check has already put into words (e.g. "DAV header lacks calendar-access"). */
export function checkFailure(code: CheckErrorCode, reason: string): MbError {
  return new MbError(code, reason);
}
