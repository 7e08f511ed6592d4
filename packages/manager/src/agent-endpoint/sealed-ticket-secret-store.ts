import { isSealed, type SealedSecret, type SecretBox } from '../keys/secret-box.js';
import type { Repositories } from '../store/store.js';
import { TICKET_SECRET_SETTING, type TicketSecretStore } from './ticket-keys.js';

const PURPOSE = `system_settings.${TICKET_SECRET_SETTING}`;

/**
 * The TLS session-ticket secret as a system setting, sealed with the master key: whoever reads
 * the database cannot forge or decrypt session tickets (RFC 5077 §5.3: the ticket keys protect
 * every resumed session's secrets). A secret stored in plaintext base64 by an earlier release
 * still loads; {@link sealPlaintextTicketSecret} rewrites it sealed at start.
 */
export class SealedTicketSecretStore implements TicketSecretStore {
  constructor(
    private readonly store: Pick<Repositories, 'systemSettings'>,
    private readonly box: SecretBox,
  ) {}

  async load(): Promise<Buffer | null> {
    const v = await this.store.systemSettings.get(TICKET_SECRET_SETTING);
    if (v === null) return null;
    const b = isSealed(v) ? this.box.open(v, PURPOSE) : Buffer.from(v, 'base64');
    if (b.length !== 32) throw new Error(`system setting ${TICKET_SECRET_SETTING} does not hold 32 bytes`);
    return b;
  }

  async save(secret: Buffer): Promise<void> {
    await this.store.systemSettings.set(TICKET_SECRET_SETTING, this.seal(secret));
  }

  private seal(secret: Buffer): SealedSecret {
    return this.box.seal(secret, PURPOSE);
  }
}

/** Seals a ticket secret an earlier release stored in plaintext; true when there was one. */
export async function sealPlaintextTicketSecret(
  store: Pick<Repositories, 'systemSettings'>,
  box: SecretBox,
): Promise<boolean> {
  const v = await store.systemSettings.get(TICKET_SECRET_SETTING);
  if (v === null || isSealed(v)) return false;
  await new SealedTicketSecretStore(store, box).save(Buffer.from(v, 'base64'));
  return true;
}
