import type { AgentPackagePlatform } from '@palisade/protocol';
import { PalisadeError } from '../errors.js';
import type { CertificateAuthority } from '../pki/certificate-authority.js';
import type { Store } from '../store/store.js';
import type { AgentPackages } from './agent-packages.js';
import { describeLimits, issueActivationToken } from './credentials.js';
import { deploymentScript } from './deployment-script.js';

/** Where the scripts send hosts: the name and ports of this manager as agents reach it. */
export interface ManagerAddress {
  host: string;
  apiPort: number;
  heartbeatPort: number;
}

export interface DeploymentRequest {
  platform: AgentPackagePlatform;
  /** The policy new computers get; absent: the Base Policy. Only with `activate`. */
  policyId?: number;
  /** Activate as part of the script, with a token made for it. */
  activate: boolean;
  /** The script token's uses; null = unlimited. Default {@link SCRIPT_TOKEN_USES}. */
  tokenUses?: number | null;
  /** The script token's lifetime, hours; null = never expires. Default {@link SCRIPT_TOKEN_HOURS}. */
  tokenHours?: number | null;
  actor: string;
  now: number;
}

/** A script is pasted on a fleet, not one host: more uses than a hand-made token, a week to run it. */
export const SCRIPT_TOKEN_USES = 100;
export const SCRIPT_TOKEN_HOURS = 7 * 24;

/**
 * Writes a deployment script for a platform: the newest package of each architecture, the
 * manager CA and, when it activates, an activation token made for this script (its policy,
 * uses and expiry; audited; never the admin API key).
 */
export async function createDeploymentScript(
  deps: { store: Store; ca: CertificateAuthority; packages: AgentPackages; address: ManagerAddress },
  r: DeploymentRequest,
): Promise<{ scriptBody: string; policyId: number | null; activationTokenId: number | null }> {
  const packages = await deps.packages.latest(r.platform);
  if (packages.length === 0)
    throw new PalisadeError(
      'AGENT_PACKAGE_NOT_FOUND',
      `no ${r.platform} package in ${deps.packages.dir}${r.platform === 'macos' ? ' (macOS packages are not built yet)' : ''}`,
    );
  let activation: Parameters<typeof deploymentScript>[0]['activation'];
  let policyId: number | null = null;
  let activationTokenId: number | null = null;
  if (r.activate) {
    const policy =
      r.policyId !== undefined
        ? await deps.store.policies.get(r.policyId)
        : await deps.store.policies.ensureBase(r.now);
    if (!policy) throw new PalisadeError('POLICY_NOT_FOUND', `ID ${r.policyId}`);
    const maxUses = r.tokenUses === undefined ? SCRIPT_TOKEN_USES : r.tokenUses;
    const hours = r.tokenHours === undefined ? SCRIPT_TOKEN_HOURS : r.tokenHours;
    const issued = await issueActivationToken(
      deps.store,
      {
        policyId: policy.id,
        maxUses,
        ttlMs: hours === null ? null : hours * 3_600_000,
        description: `deployment script (${r.platform})`,
      },
      r.actor,
      r.now,
    );
    policyId = policy.id;
    activationTokenId = issued.id;
    activation = {
      token: issued.token,
      tokenId: issued.id,
      policyName: policy.name,
      tokenLimits: describeLimits(maxUses, issued.expiresAt),
    };
  }
  const scriptBody = deploymentScript({
    platform: r.platform,
    managerHost: deps.address.host,
    apiPort: deps.address.apiPort,
    heartbeatPort: deps.address.heartbeatPort,
    caPem: deps.ca.certificatePem,
    caFingerprint: deps.ca.fingerprint,
    packages: packages.map((p) => ({
      architecture: p.architecture,
      version: p.version,
      fileName: p.fileName,
      sha256: p.sha256,
    })),
    ...(activation ? { activation } : {}),
    generatedAt: new Date(r.now),
  });
  return { scriptBody, policyId, activationTokenId };
}
