import { hashSecret, newSecret } from '../secrets.js';
import { ConfigurationService } from '../services/configuration-service.js';
import type { ComputerRecord, Store } from '../store/store.js';

let serial = 0;

/**
 * Enrols a computer the way activation does (a one-use token of its policy, the policy's
 * expected fingerprint), without an agent. Default platform `linux`, policy the Base Policy.
 */
export async function enrolTestComputer(
  store: Store,
  o: {
    hostName: string;
    platform?: string;
    policyId?: number;
    certSerial?: string;
    configurations?: ConfigurationService;
    /** The host identity and first continuity token the agent was given (plain; stored hashed). */
    identity?: { hostIdentity: string; continuity: string };
  },
): Promise<ComputerRecord> {
  const policyId = o.policyId ?? (await store.policies.ensureBase(Date.now())).id;
  const platform = o.platform ?? 'linux';
  const tokenId = await store.activationTokens.create({
    tokenHash: hashSecret(newSecret('token')),
    policyId,
    maxUses: 1,
    expiresAt: null,
    now: Date.now(),
  });
  const effective = await (o.configurations ?? new ConfigurationService(600)).forNewComputer(policyId, platform, store);
  const r = await store.computers.activate(tokenId, {
    hostName: o.hostName,
    platform,
    agentVersion: '0.1.0',
    policyId,
    certSerial: o.certSerial ?? `test-${process.pid}-${++serial}`,
    expectedFingerprint: effective.fingerprint,
    now: Date.now(),
    offlineDeadline: Date.now() + 30 * 60_000,
    ...(o.identity
      ? { hostIdentity: hashSecret(o.identity.hostIdentity), continuity: hashSecret(o.identity.continuity) }
      : {}),
  });
  if (r === 'token-used-up') throw new Error('fresh token used up');
  return r;
}
