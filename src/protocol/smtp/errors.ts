/**
 * The codes of the SMTP protocol helpers. SMTP_REJECTED carries a catalogue
 * reply in `details.reply` (see rejection() in replies.ts); SMTP_DSN_INVALID is
 * a programming error in the input of buildDsn().
 */
export const SmtpErrors = {
  /** A decision to refuse with a specific catalogue reply; replyForError() turns it into that reply. */
  SMTP_REJECTED: 'SMTP_REJECTED',
  /** buildDsn() was given an input that cannot make a valid RFC 3464 report. */
  SMTP_DSN_INVALID: 'SMTP_DSN_INVALID',
} as const;
export type SmtpErrorCode = (typeof SmtpErrors)[keyof typeof SmtpErrors];
