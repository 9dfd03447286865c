/**
 * The prom-client registry of one process. Names follow
 * mailbridge_<subsystem>_<name>_<unit>; counters end in _total; labels never carry
 * addresses or folder names (cardinality). Each subsystem registers its own
 * metrics on this registry through `metrics.registry`.
 */
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  events: Counter<'event' | 'level'>;
  checkUp: Gauge<'system' | 'endpoint'>;
  checkLatency: Histogram<'endpoint'>;
}

export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'mailbridge_process_' });
  return {
    registry,
    events: new Counter({
      name: 'mailbridge_events_total',
      help: 'Catalogued events logged, by event name and level',
      labelNames: ['event', 'level'],
      registers: [registry],
    }),
    checkUp: new Gauge({
      name: 'mailbridge_check_endpoint_up',
      help: '1 when the endpoint answered as expected at the last check, else 0',
      labelNames: ['system', 'endpoint'],
      registers: [registry],
    }),
    checkLatency: new Histogram({
      name: 'mailbridge_check_latency_seconds',
      help: 'Time to complete one endpoint check',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [registry],
    }),
  };
}
