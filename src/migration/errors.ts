/** Error codes of the migration engine (MbError.code). */
export const MigrationErrors = {
  /** migration section missing or naming systems without imap. */
  MIGRATION_NOT_CONFIGURED: 'MIGRATION_NOT_CONFIGURED',
  /** The users CSV is unreadable or malformed. */
  MIGRATION_USERS_INVALID: 'MIGRATION_USERS_INVALID',
  /** A server could not be reached (transient: exit 3). */
  MIGRATION_CONNECT_FAILED: 'MIGRATION_CONNECT_FAILED',
  /** A server refused the login (permanent for this user). */
  MIGRATION_LOGIN_FAILED: 'MIGRATION_LOGIN_FAILED',
  /** A target folder could not be created. */
  MIGRATION_FOLDER_FAILED: 'MIGRATION_FOLDER_FAILED',
  /** Two ordinary source folders map to one target name: plan reports, run refuses nothing but says so. */
  MIGRATION_FOLDER_COLLISION: 'MIGRATION_FOLDER_COLLISION',
  /** An IMAP command failed in a way that stops this folder. */
  MIGRATION_IMAP_FAILED: 'MIGRATION_IMAP_FAILED',
  /** Another worker holds the user's lease (multi-node claiming): skipped by migrate run, not failed. */
  MIGRATION_USER_BUSY: 'MIGRATION_USER_BUSY',
  /** This worker's lease on the user expired mid-pass and another worker took the user over: the pass stopped. */
  MIGRATION_LEASE_LOST: 'MIGRATION_LEASE_LOST',
} as const;
export type MigrationErrorCode = (typeof MigrationErrors)[keyof typeof MigrationErrors];
