export { createLogger, silentLogger, logEvent, type Logger, type LoggerOptions } from './logger.js';
export { EVENTS, eventSpec, type EventName, type EventSpec, type EventLevel } from './events.js';
export { createMetrics, type Metrics } from './metrics.js';
export { REDACT_PATHS, redactUrl, redactProtocolLine } from './redact.js';
