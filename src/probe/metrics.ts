/**
 * Probe metrics on the process registry (mailbridge_probe_*). Labels: the
 * system's name from the config and the probe kind; never an address.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ProbeMetrics {
  up: Gauge<'system' | 'probe'>;
  latency: Histogram<'system' | 'probe'>;
  runs: Counter<'system' | 'probe' | 'result'>;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** Idempotent per registry. */
export function probeMetrics(registry: Registry): ProbeMetrics {
  const registers = [registry];
  return {
    up: existing(registry, 'mailbridge_probe_up') ?? new Gauge({
      name: 'mailbridge_probe_up', help: '1 when the last synthetic probe of this kind succeeded on the system, else 0', labelNames: ['system', 'probe'], registers,
    }),
    latency: existing(registry, 'mailbridge_probe_latency_seconds') ?? new Histogram({
      name: 'mailbridge_probe_latency_seconds', help: 'End-to-end time of successful synthetic probes (mail: submission to arrival over IMAP)',
      labelNames: ['system', 'probe'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
    }),
    runs: existing(registry, 'mailbridge_probe_runs_total') ?? new Counter({
      name: 'mailbridge_probe_runs_total', help: 'Synthetic probes run, by system, kind and result (ok, failed)', labelNames: ['system', 'probe', 'result'], registers,
    }),
  };
}
