/**
 * The codes this subsystem throws. They are core's (the CLI maps them to exit
 * code 2), listed here so the config folder has its one catalogue.
 *
 * - CONFIG_NOT_FOUND: the file does not exist. details: { file }
 * - CONFIG_INVALID: the file exists but is not a valid configuration
 *   (YAML syntax, schema, cross-section checks, unreadable or missing
 *   secrets). details: { file, issues: ConfigIssue[] }
 */
import { CoreErrors } from '../core/index.js';

export const ConfigErrors = {
  CONFIG_INVALID: CoreErrors.CONFIG_INVALID,
  CONFIG_NOT_FOUND: CoreErrors.CONFIG_NOT_FOUND,
} as const;
export type ConfigErrorCode = (typeof ConfigErrors)[keyof typeof ConfigErrors];
