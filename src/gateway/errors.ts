/** The codes of the gateway. GATEWAY_DIRECTORY_UNAVAILABLE is transient: RCPT answers 451 4.3.0, never 5xx. */
export const GatewayErrors = {
  /** The recipient directory (store or CSV files) could not be read. */
  GATEWAY_DIRECTORY_UNAVAILABLE: 'GATEWAY_DIRECTORY_UNAVAILABLE',
  /** A listener could not bind. */
  GATEWAY_LISTEN_FAILED: 'GATEWAY_LISTEN_FAILED',
  /** A routed system has no smtp endpoint, or external mail has no smarthost. */
  GATEWAY_NO_ROUTE: 'GATEWAY_NO_ROUTE',
  /** A queue command named a message that is not in the queue. */
  GATEWAY_QUEUE_NOT_FOUND: 'GATEWAY_QUEUE_NOT_FOUND',
} as const;
export type GatewayErrorCode = (typeof GatewayErrors)[keyof typeof GatewayErrors];
