/** The gateway's metrics, registered on the process registry (mailbridge_gateway_*; labels never carry addresses). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface GatewayMetrics {
  received: Counter<'result'>;
  rcpt: Counter<'result'>;
  deliveries: Counter<'destination' | 'result'>;
  queueMessages: Gauge;
  spoolCommit: Histogram;
  dsns: Counter<'kind'>;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  return {
    received: new Counter({ name: 'mailbridge_gateway_messages_received_total', help: 'DATA transactions by outcome (queued, refused, failed)', labelNames: ['result'], registers }),
    rcpt: new Counter({ name: 'mailbridge_gateway_recipients_checked_total', help: 'RCPT commands by outcome (accepted, unknown, relay_denied, tempfail, syntax)', labelNames: ['result'], registers }),
    deliveries: new Counter({ name: 'mailbridge_gateway_deliveries_total', help: 'Recipient delivery attempts by destination and outcome (delivered, deferred, bounced)', labelNames: ['destination', 'result'], registers }),
    queueMessages: new Gauge({ name: 'mailbridge_gateway_queue_messages', help: 'Messages in the spool', registers }),
    spoolCommit: new Histogram({ name: 'mailbridge_gateway_spool_commit_seconds', help: 'Time to make a message durable before the 250', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1], registers }),
    dsns: new Counter({ name: 'mailbridge_gateway_dsn_sent_total', help: 'Delivery status notifications queued, by kind (failed, delayed)', labelNames: ['kind'], registers }),
  };
}
