import { hkdfSync, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';

/**
 * Where the agent endpoint's TLS session-ticket secret is kept. Every manager node of one
 * database reads the same secret, so a session one node issued resumes on any other (agents
 * behind a load balancer reach whichever node). The manager keeps it sealed with the master
 * key (sealed-ticket-secret-store.ts); nothing else reads it.
 */
export interface TicketSecretStore {
  /** The stored secret (32 bytes), or null before any node created one. */
  load(): Promise<Buffer | null>;
  /** Stores `secret`, replacing any other. */
  save(secret: Buffer): Promise<void>;
}

/** System setting holding the ticket secret (base64). */
export const TICKET_SECRET_SETTING = 'agentTlsTicketSecret';

/**
 * How long one set of ticket keys encrypts new tickets. Node holds one ticket key per context
 * (`server.setTicketKeys`), so at each rotation the tickets issued before it stop resuming and
 * each agent makes one full handshake at its next heartbeat — spread over one interval.
 */
export const TICKET_KEY_ROTATION_MS = 24 * 3_600_000;

/**
 * Ticket lifetime the server announces and enforces (`sessionTimeout`, seconds). Node's default
 * is 300 s, shorter than the 10-minute heartbeat interval: no ticket would ever be used. A day
 * covers a fleet through a manager outage of many intervals; RFC 8446 §4.6.1 allows up to 7.
 */
export const TLS_SESSION_TIMEOUT_SECONDS = 24 * 3_600;

/**
 * The session ID context (OpenSSL `SSL_CTX_set_session_id_context`, at most 32 bytes). With
 * client certificates OpenSSL resumes only a session made under the same context; Node's default
 * is a hash of the process's command line, which differs from node to node, so it is fixed here.
 */
export const TLS_SESSION_ID_CONTEXT = 'palisade-agent-endpoint';

/**
 * The agent endpoint's session tickets: one stored secret, and from it the 48-byte key set Node
 * takes (name, HMAC key, AES key) for each TLS context and each rotation period, by HKDF
 * (RFC 5869). Every node derives the same keys for the same period and context without talking
 * to the others, rotation needs no coordination (a node whose clock is a few seconds off only
 * turns a few resumptions into full handshakes at the boundary), and each context — one per TLS
 * policy, and the legacy one — has keys of its own: a session negotiated under a looser policy
 * never resumes under a stricter one.
 */
export class TicketKeys {
  private constructor(
    private secret: Buffer,
    private readonly store: TicketSecretStore,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Loads the shared secret, creating it on the first start of the first node. */
  static async open(store: TicketSecretStore, logger: Logger, now: () => number = Date.now): Promise<TicketKeys> {
    let secret = await store.load();
    if (secret === null) {
      await store.save(randomBytes(32));
      // Two nodes starting together may both have written: read back what won, and every node
      // converges on it at its next reload.
      secret = await store.load();
      if (secret === null) throw new Error('the TLS ticket secret vanished after it was stored');
    }
    return new TicketKeys(secret, store, logger, now);
  }

  /** The rotation period now (whole periods since the epoch). */
  period(): number {
    return Math.floor(this.now() / TICKET_KEY_ROTATION_MS);
  }

  /** Milliseconds until the next rotation. */
  msUntilRotation(): number {
    return TICKET_KEY_ROTATION_MS - (this.now() % TICKET_KEY_ROTATION_MS);
  }

  /** Node's 48-byte ticket key set for a TLS context (`modern`, `compatible`, `legacy`) now. */
  keysFor(context: string): Buffer {
    const salt = Buffer.alloc(8);
    salt.writeBigUInt64BE(BigInt(this.period()));
    return Buffer.from(
      hkdfSync('sha256', this.secret, salt, `palisade agent endpoint session tickets: ${context}`, 48),
    );
  }

  /** Re-reads the stored secret; true when it changed (another node's won, or an operator replaced it). */
  async reload(): Promise<boolean> {
    let stored: Buffer | null;
    try {
      stored = await this.store.load();
    } catch (e) {
      this.logger.warn({ err: e }, 'could not re-read the TLS ticket secret; keeping the current one');
      return false;
    }
    if (stored === null || stored.equals(this.secret)) return false;
    this.secret = stored;
    return true;
  }
}
