/**
 * Calendar metrics on the process registry. Labels stay low-cardinality:
 * status, cache state, source kind; never addresses.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface CalendarMetrics {
  lookups: Counter<'status' | 'cache'>;
  sourceSeconds: Histogram<'kind' | 'outcome'>;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** Idempotent per registry (a second broker on the same registry shares the metrics). */
export function calendarMetrics(registry: Registry): CalendarMetrics {
  return {
    lookups: existing(registry, 'mailbridge_calendar_lookups_total') ?? new Counter({
      name: 'mailbridge_calendar_lookups_total',
      help: 'Free/busy lookups per attendee, by outcome status and cache state',
      labelNames: ['status', 'cache'],
      registers: [registry],
    }),
    sourceSeconds: existing(registry, 'mailbridge_calendar_source_seconds') ?? new Histogram({
      name: 'mailbridge_calendar_source_seconds',
      help: 'Time for one source lookup (discovery, reports and busy-time computation)',
      labelNames: ['kind', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
