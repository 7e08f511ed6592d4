import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { allowListMatches, type DestinationEntry, parseDestinationAllowList } from '@palisade/core';
import type { Store } from '../store/store.js';
import { dialableAddress } from './agent-listener-client.js';

/** Addresses an agent may announce for its listener beyond the one its heartbeats come from. */
export const AGENT_LISTENER_ALLOW_LIST_SETTING = 'palisadeSettingAgentListenerAddressAllowList';

/** The operator's list (an unusable stored value, only from a hand-edited store: none). */
export async function agentListenerAllowList(store: Pick<Store, 'systemSettings'>): Promise<DestinationEntry[]> {
  try {
    return parseDestinationAllowList((await store.systemSettings.get(AGENT_LISTENER_ALLOW_LIST_SETTING)) ?? '');
  } catch {
    return [];
  }
}

/**
 * Where the dialer may call a computer's listener (docs/security.md "Agent listener
 * addresses"): the address the agent announced is the agent's word, so it is dialled only when
 * it is the address the agent's own connections come from (`lastIp`), or the operator lists it
 * in {@link AGENT_LISTENER_ALLOW_LIST_SETTING}. Otherwise an agent (or a stolen agent
 * certificate) could point the manager at any host and port it reaches. A host name is resolved
 * here and the checked address is what is dialled, so it cannot resolve elsewhere afterwards.
 * Returns the address to dial, or why not.
 */
export async function listenerDialAddress(
  entries: readonly DestinationEntry[],
  t: { announced: string | null; lastIp: string | null; port: number },
): Promise<{ address: string } | { refusal: string }> {
  const own = t.lastIp ? dialableAddress(t.lastIp) : null;
  if (t.announced === null) {
    return own
      ? { address: own }
      : { refusal: 'no address known for the agent: it announced none and never connected' };
  }
  let addresses: string[];
  if (isIP(t.announced)) addresses = [t.announced];
  else {
    try {
      addresses = (await lookup(t.announced, { all: true })).map((a) => a.address);
    } catch (e) {
      return { refusal: `the announced listener address ${t.announced} does not resolve (${(e as Error).message})` };
    }
  }
  for (const raw of addresses) {
    const address = dialableAddress(raw);
    if (address === own || allowListMatches(entries, { host: t.announced, address, port: t.port })) return { address };
  }
  const shown = addresses.join(', ') === t.announced ? t.announced : `${t.announced} (${addresses.join(', ')})`;
  return {
    refusal: `not dialled: the agent announced listener address ${shown} port ${t.port}, which is neither the address its connections come from (${own ?? 'none yet'}) nor in ${AGENT_LISTENER_ALLOW_LIST_SETTING}`,
  };
}
