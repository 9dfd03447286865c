/** The configuration subsystem: load once, frozen, hand out slices. */
export { loadConfig, parseConfig, formatConfigError, formatIssue } from './load.js';
export { printConfig } from './print.js';
export { configReference, configKeys } from './reference.js';
export { ConfigErrors, type ConfigErrorCode } from './errors.js';
export type {
  Config, ConfigBody, ConfigIssue, SystemConfig, SmtpEndpoint, ImapEndpoint, ImapAdmin, LdapEndpoint, CaldavEndpoint,
  GatewayConfig, MigrationConfig, CutoverConfig, WaveConfig, WebConfig, WebUser, DirectoryConfig, ProbesConfig, ProbeMailbox, CalendarConfig,
  CheckConfig, StoreConfig, ListenAddress, FolderRule, TlsMode,
} from './types.js';
export { parseSchedule, nextDueIn, type Schedule } from './schedule.js';
