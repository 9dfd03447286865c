/**
 * The event catalogue: every log line mailbridge writes carries one of these names
 * in its `event` field, and every event is counted in
 * mailbridge_events_total{event, level}. New subsystems add their events here, so
 * operators have one list to alert on (as Stalwart does with its event types).
 */
export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EventSpec {
  level: EventLevel;
  description: string;
}

export const EVENTS = {
  'config.loaded': { level: 'info', description: 'Configuration file read and validated' },
  'config.invalid': { level: 'error', description: 'Configuration file rejected; the message names file, key and reason' },
  'store.opened': { level: 'info', description: 'Store opened and migrations applied' },
  'store.migrated': { level: 'info', description: 'A store schema migration was applied' },
  'store.failed': { level: 'error', description: 'The store could not be opened or a query failed' },
  'check.endpoint.ok': { level: 'info', description: 'An endpoint answered as expected' },
  'check.endpoint.failed': { level: 'warn', description: 'An endpoint could not be reached or answered wrongly' },
  'check.finished': { level: 'info', description: 'All configured endpoints were checked' },
  'service.starting': { level: 'info', description: 'mailbridge serve is starting its components' },
  'service.ready': { level: 'info', description: 'All enabled components are listening' },
  'service.stopping': { level: 'info', description: 'Shutdown requested; draining in-flight work' },
  'service.stopped': { level: 'info', description: 'Shutdown finished' },
  'service.crashed': { level: 'error', description: 'An unexpected error stopped a component' },
} as const satisfies Record<string, EventSpec>;

export type EventName = keyof typeof EVENTS;

export function eventSpec(name: EventName): EventSpec {
  return EVENTS[name];
}
