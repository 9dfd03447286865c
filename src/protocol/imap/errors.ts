/**
 * Error codes of the IMAP protocol helpers. Malformed names are values
 * (`{ ok: false, reason }`); only options a caller should have validated throw.
 */
export const ImapErrors = {
  /** MappingOptions that cannot be used: a bad regex, a delimiter that is not one character. */
  IMAP_MAPPING_OPTIONS_INVALID: 'IMAP_MAPPING_OPTIONS_INVALID',
} as const;
export type ImapErrorCode = (typeof ImapErrors)[keyof typeof ImapErrors];
