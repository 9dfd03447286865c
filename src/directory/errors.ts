/** Error codes of the directory subsystem. */
export const DirectoryErrors = {
  /** A source answered with zero people: a wrong filter, an empty OU or an outage, never "everyone left". */
  DIRECTORY_SOURCE_EMPTY: 'DIRECTORY_SOURCE_EMPTY',
  /** A source could not be reached or read (LDAP down, file missing). */
  DIRECTORY_SOURCE_UNREACHABLE: 'DIRECTORY_SOURCE_UNREACHABLE',
  /** A source file (CSV, LDIF) is malformed; the message names file and line. */
  DIRECTORY_SOURCE_INVALID: 'DIRECTORY_SOURCE_INVALID',
  /** The run would delete more than the guard allows; nothing was written. */
  DIRECTORY_DELETE_GUARD: 'DIRECTORY_DELETE_GUARD',
  /** A system refused a contact write. */
  DIRECTORY_CONTACT_WRITE_FAILED: 'DIRECTORY_CONTACT_WRITE_FAILED',
  /** Writing the Postfix maps failed. */
  DIRECTORY_EXPORT_FAILED: 'DIRECTORY_EXPORT_FAILED',
} as const;

export type DirectoryErrorCode = keyof typeof DirectoryErrors;
