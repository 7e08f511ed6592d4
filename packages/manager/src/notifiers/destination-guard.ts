import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { type DestinationPolicy, destinationRefusal, parseDestinationAllowList } from '@palisade/core';
import type { Store } from '../store/store.js';

/** The allow-list of notifier destinations (docs/security.md "Notifier destinations"). */
export const NOTIFIER_ALLOW_LIST_SETTING = 'palisadeSettingNotifierDestinationAllowList';
/** Whether public addresses need no listing. */
export const NOTIFIER_PUBLIC_SETTING = 'palisadeSettingNotifierDestinationPublicEnabled';

/** A destination the policy refuses: the reason is the notifier's `lastError` (full-access keys only). */
export class DestinationRefusedError extends Error {
  override readonly name = 'DestinationRefusedError';
}

/** The notifier destination policy stored in the system settings (an unusable stored value: the default). */
export async function notifierDestinationPolicy(store: Pick<Store, 'systemSettings'>): Promise<DestinationPolicy> {
  const list = (await store.systemSettings.get(NOTIFIER_ALLOW_LIST_SETTING)) ?? '';
  let entries: DestinationPolicy['entries'] = [];
  try {
    entries = parseDestinationAllowList(list);
  } catch {
    // Values are checked on write: only a hand-edited store gets here. Listing nothing is the safe reading.
  }
  return { entries, publicAllowed: (await store.systemSettings.get(NOTIFIER_PUBLIC_SETTING)) !== 'false' };
}

/**
 * Checks notifier destinations against the policy in force, where the connection is made: a host
 * name is resolved by the {@link lookup} the sender connects with, so the address checked is the
 * address dialled (a name that resolves to a public address when checked and to 127.0.0.1 when
 * dialled, DNS rebinding, is refused). A literal address is checked by {@link assertAllowed}
 * before each connection (Node looks no literal up). {@link refresh} reads the settings again.
 */
export class DestinationGuard {
  private current: DestinationPolicy;

  constructor(
    private readonly read: () => Promise<DestinationPolicy>,
    initial: DestinationPolicy = { entries: [], publicAllowed: true },
  ) {
    this.current = initial;
  }

  get policy(): DestinationPolicy {
    return this.current;
  }

  async refresh(): Promise<DestinationPolicy> {
    this.current = await this.read();
    return this.current;
  }

  /** @throws DestinationRefusedError when `address` (resolved for `host`) on `port` is refused. */
  assertAllowed(host: string, address: string, port: number): void {
    const why = destinationRefusal(this.current, { host, address, port });
    if (why) throw new DestinationRefusedError(`destination refused: ${why}`);
  }

  /** For a literal address, the check now; for a name, nothing (its {@link lookup} checks). */
  assertLiteral(host: string, port: number): void {
    if (isIP(host)) this.assertAllowed(host, host, port);
  }

  /**
   * A `lookup` for net, tls, http and https connections to `host:port`: resolves, keeps the
   * addresses the policy allows, and fails the connection with the reason when none is.
   */
  lookup(port: number): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, found: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        const problems: string[] = [];
        const allowed = found.filter((a) => {
          const why = destinationRefusal(this.current, { host: hostname, address: a.address, port });
          if (why) problems.push(why);
          return why === null;
        });
        if (allowed.length === 0) {
          const e = new DestinationRefusedError(`destination refused: ${problems.join('; ')}`);
          return callback(Object.assign(e, { code: 'EDESTINATIONREFUSED' }), '', 0);
        }
        if (options.all) return callback(null, allowed);
        callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
  }

  /**
   * Why a destination configured now would be refused (the API's check on create): a literal
   * address is judged as is; a name is resolved, and refused when an address it resolves to is.
   * A name that does not resolve now is not refused here (delivery checks it when it does).
   */
  async refusal(host: string, port: number): Promise<string | null> {
    await this.refresh();
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) return destinationRefusal(this.current, { host: bare, address: bare, port });
    const found = await new Promise<LookupAddress[]>((resolve) =>
      dnsLookup(bare, { all: true }, (err, a) => resolve(err ? [] : a)),
    );
    for (const a of found) {
      const why = destinationRefusal(this.current, { host: bare, address: a.address, port });
      if (why) return why;
    }
    return null;
  }
}
