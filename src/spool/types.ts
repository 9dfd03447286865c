/** What the spool keeps for one message: the envelope (written once, with the bytes) and per-recipient state. */

/** RFC 3461 parameters of one recipient, kept as received (ORCPT still xtext). */
export interface RecipientDsn {
  /** NOTIFY values, upper case; absent means the default (FAILURE, DELAY: RFC 3461 4.1). */
  notify?: string[];
  orcpt?: string;
}

export interface SpoolRecipient extends RecipientDsn {
  address: string;
}

export interface SpoolEnvelope {
  /** Envelope sender; '' is the null reverse-path. */
  from: string;
  recipients: SpoolRecipient[];
  /** RFC 3461 RET and ENVID (ENVID xtext-decoded). */
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  bodyType?: '7bit' | '8bitmime';
  smtputf8?: boolean;
  /** Where it came from: 'smtp' (with the client address), 'pickup', 'dsn'. */
  source: { kind: 'smtp' | 'pickup' | 'dsn'; ip?: string; helo?: string; user?: string };
  /** The Message-ID header value, for tracking. */
  messageId?: string;
  /** This message is a delivery status notification we made (never answered by another). */
  isDsn?: boolean;
}

export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced';

export interface RecipientState {
  status: RecipientStatus;
  attempts: number;
  /** Epoch ms of the next attempt (queued/deferred). */
  nextAttempt: number;
  /** The last remote reply or error, one line. */
  lastReply?: string;
  /** Where the last attempt went ("system:legacy", "external"). */
  destination?: string;
  /** A delay DSN was sent (or deliberately not sent). */
  delayNotified?: boolean;
  /** The failure DSN for this bounced recipient was queued (or deliberately not sent). */
  failNotified?: boolean;
  updatedAt: number;
}

/** One message in the queue as the spool holds it in memory (no bytes). */
export interface QueuedMessage {
  id: string;
  receivedAt: number;
  size: number;
  envelope: SpoolEnvelope;
  recipients: RecipientState[];
  held: boolean;
}

/** One change appended to a message's state log. */
export type StateChange =
  | { op: 'rcpt'; index: number; state: Partial<RecipientState> }
  | { op: 'hold' }
  | { op: 'release' }
  | { op: 'retry' };
