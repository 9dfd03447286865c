/** The gateway's metrics, registered on the process registry (mailbridge_gateway_*; labels never carry addresses). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface GatewayMetrics {
  received: Counter<'result'>;
  rcpt: Counter<'result'>;
  deliveries: Counter<'destination' | 'result'>;
  queueMessages: Gauge;
  spoolCommit: Histogram;
  dsns: Counter<'kind'>;
  /** Receipt to final answer per recipient (delivered or bounced), by destination. */
  deliveryLatency: Histogram<'destination' | 'result'>;
}

/** What the per-destination queue gauges read at scrape time (the spool, set by Gateway.start). */
export interface QueueSource {
  byDestination(): { destination: string; recipients: number; oldestAgeMs: number }[];
}

export function createGatewayMetrics(registry: Registry, queue?: QueueSource): GatewayMetrics {
  const registers = [registry];
  if (queue) {
    // Computed from the spool's memory at each scrape: always current, nothing to keep in step.
    new Gauge({
      name: 'mailbridge_gateway_queue_recipients', help: 'Recipients waiting in the spool, by destination (new: not tried yet; held: on hold)', labelNames: ['destination'], registers,
      collect() { this.reset(); for (const q of queue.byDestination()) this.set({ destination: q.destination }, q.recipients); },
    });
    new Gauge({
      name: 'mailbridge_gateway_queue_oldest_age_seconds', help: 'Age of the oldest message waiting for a destination', labelNames: ['destination'], registers,
      collect() { this.reset(); for (const q of queue.byDestination()) this.set({ destination: q.destination }, q.oldestAgeMs / 1000); },
    });
  }
  return {
    received: new Counter({ name: 'mailbridge_gateway_messages_received_total', help: 'DATA transactions by outcome (queued, refused, failed)', labelNames: ['result'], registers }),
    rcpt: new Counter({ name: 'mailbridge_gateway_recipients_checked_total', help: 'RCPT commands by outcome (accepted, unknown, relay_denied, tempfail, syntax)', labelNames: ['result'], registers }),
    deliveries: new Counter({ name: 'mailbridge_gateway_deliveries_total', help: 'Recipient delivery attempts by destination and outcome (delivered, deferred, bounced)', labelNames: ['destination', 'result'], registers }),
    queueMessages: new Gauge({ name: 'mailbridge_gateway_queue_messages', help: 'Messages in the spool', registers }),
    spoolCommit: new Histogram({ name: 'mailbridge_gateway_spool_commit_seconds', help: 'Time to make a message durable before the 250', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1], registers }),
    dsns: new Counter({ name: 'mailbridge_gateway_dsn_sent_total', help: 'Delivery status notifications queued, by kind (failed, delayed)', labelNames: ['kind'], registers }),
    deliveryLatency: new Histogram({
      name: 'mailbridge_gateway_delivery_latency_seconds', help: 'Time from receipt to the final answer of a recipient (delivered or bounced), by destination',
      labelNames: ['destination', 'result'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600, 14400, 86400], registers,
    }),
  };
}
