import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { WebhookSettings, WebhookTarget } from '../store/store.js';
import type { DestinationGuard } from './destination-guard.js';
import { type Notification, notificationJson } from './notification.js';
import { DeliveryError, type NotifierTransport } from './notifier-transport.js';

/**
 * Webhook delivery: one JSON `POST` per alert or event, in order, over a kept-alive connection.
 * Any 2xx is delivered; anything else (a status, a refused connection, a timeout) stops the
 * batch so the dispatcher retries from there. `Idempotency-Key` carries the notification id so
 * a receiver can drop the duplicates at-least-once delivery may bring.
 *
 * A receiver closes a kept-alive connection once it has been idle a while (Node's servers
 * after 5 s), and a request sent on it just then fails with a reset before the receiver has
 * read it. Such a request — on a reused connection, reset, no answer yet — is sent once more on
 * a new connection (as Node's documentation of `request.reusedSocket` advises), so a batch does
 * not fail on that race. (A console's "Send test" has a connection of its own: never reused.)
 */
export class WebhookSender implements NotifierTransport {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly url: URL;

  constructor(
    private readonly s: Pick<WebhookSettings, 'ca' | 'timeoutSeconds'>,
    private readonly target: WebhookTarget,
    private readonly manager: string,
    private readonly userAgent: string,
    /** Checks the receiver's address against the destination policy; absent: any (tests). */
    private readonly guard?: DestinationGuard,
  ) {
    this.url = new URL(target.url);
    this.agent =
      this.url.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ...(s.ca ? { ca: s.ca } : {}) })
        : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  async deliver(items: readonly Notification[]): Promise<void> {
    for (let i = 0; i < items.length; i++) {
      try {
        await this.post(items[i]!);
      } catch (e) {
        throw new DeliveryError((e as Error).message, i, { cause: e });
      }
    }
  }

  private post(n: Notification, again = false): Promise<void> {
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    try {
      this.guard?.assertLiteral(this.url.hostname.replace(/^\[(.*)\]$/, '$1'), port);
    } catch (e) {
      return Promise.reject(e);
    }
    const body = Buffer.from(JSON.stringify(notificationJson(n, this.manager)));
    const request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          ...(this.guard ? { lookup: this.guard.lookup(port) } : {}),
          timeout: this.s.timeoutSeconds * 1000,
          headers: {
            ...this.target.headers,
            'content-type': 'application/json',
            'content-length': String(body.length),
            'user-agent': this.userAgent,
            'idempotency-key': n.id,
          },
        },
        (res) => {
          answered = true;
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`${this.url.origin} answered HTTP ${status}`));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`${this.url.origin} did not answer within ${this.s.timeoutSeconds} s`)),
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (!again && !answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          resolve(this.post(n, true));
          return;
        }
        reject(new Error(`${this.url.origin}: ${e.message}`));
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
