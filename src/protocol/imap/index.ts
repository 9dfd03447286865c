/**
 * IMAP protocol helpers: modified UTF-7 mailbox names (RFC 3501 5.1.3) and the
 * folder-mapping engine used by migration. Pure: no I/O, no config, no logger.
 */
export { decodeMutf7, encodeMutf7, isValidMutf7, type Mutf7Result } from './mutf7.js';
export {
  planFolders,
  validateMappingOptions,
  type FolderMapping,
  type MappingOptions,
  type MappingPlan,
  type SourceFolder,
} from './folders.js';
export type { FolderRule, OptionsCheck } from './folder-options.js';
export {
  DEFAULT_SPECIAL_USE_NAMES,
  LOCALIZED_SPECIAL_USE_NAMES,
  SPECIAL_USES,
  parseSpecialUse,
  specialUseByName,
  specialUseFromAttributes,
  type SpecialUse,
} from './special-use.js';
export { DELIMITER_FALLBACK, DELIMITER_LOOKALIKES, escapeComponent } from './folder-path.js';
export { ImapErrors, type ImapErrorCode } from './errors.js';
