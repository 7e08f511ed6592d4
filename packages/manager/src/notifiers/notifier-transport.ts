import type { Notification } from './notification.js';

/** How a notifier reaches its receiver. One instance per notifier, reused between deliveries. */
export interface NotifierTransport {
  /**
   * Delivers `items` in order and resolves when the receiver has them (as far as the transport
   * can tell: an HTTP 2xx; for syslog over TCP/TLS, the bytes written to the socket; for UDP,
   * the datagram sent). Throws `DeliveryError` naming how many got through before the failure.
   */
  deliver(items: readonly Notification[]): Promise<void>;
  close(): void;
}

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    /** Items delivered, in order, before the failure. */
    readonly delivered: number,
    /** `cause`: the socket or HTTP error behind it, kept for the logs. */
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
