import { ActivationReply, AGENT_PATHS, PROTOCOL_VERSION, type ReactivationRequest } from '@palisade/protocol';
import { activationError, checkIssuedCertificate, completeActivation } from './activate.js';
import { announcedListener, loadListenerSettings } from './agent-communication.js';
import { AGENT_VERSION } from './agent-version.js';
import { generateKeyAndCsr } from './key-pair.js';
import { ManagerConnection, resolveManager } from './manager-client.js';
import type { StateDir } from './state-dir.js';

export interface Reactivated {
  computerId: number;
  policyName: string;
  /** The manager knew this host (its identity) and gave it its computer back. */
  reactivated: boolean;
  /** The manager gave this host an identity of its own (it was a copy of another). */
  newIdentity: boolean;
}

/**
 * Activation without a token, proven by the certificate this agent holds (docs/deployment.md,
 * "Cloned hosts" and "Unknown agents"): `cloned` after a heartbeat was refused `AGENT_CLONED`,
 * `unknown` after the manager did not recognise the certificate. A new key is made here; the
 * activation is replaced only once the manager's certificate checks out, so a refusal leaves the
 * state as it was (ACTIVATION_REFUSED with the manager's code and reason).
 */
export async function reactivateWithoutToken(state: StateDir, reason: ReactivationRequest['reason']) {
  return state.withLock(async () => {
    const a = state.activation();
    const creds = state.credentials();
    const { keyPem, csrPem } = await generateKeyAndCsr(a.hostName);
    const listener = announcedListener(loadListenerSettings(state));
    const continuity = state.continuity();
    await resolveManager(a.manager.host);
    const conn = new ManagerConnection(a.manager, creds);
    let reply: ActivationReply;
    try {
      const r = await conn.request(
        'POST',
        AGENT_PATHS.reactivate,
        {
          protocolVersion: PROTOCOL_VERSION,
          reason,
          csr: csrPem,
          hostName: a.hostName,
          platform: process.platform,
          agentVersion: AGENT_VERSION,
          hostIdentity: state.hostIdentity(),
          ...(continuity ? { continuity } : {}),
          policy: a.policyName,
          ...(listener ? { listener } : {}),
        } satisfies ReactivationRequest,
        ActivationReply,
      );
      reply = r.body;
    } catch (e) {
      throw activationError(e);
    } finally {
      conn.close();
    }
    checkIssuedCertificate(reply.certificate, keyPem, creds.ca);
    if (reply.hostIdentity) state.replaceHostIdentity(reply.hostIdentity);
    if (reply.continuity) state.saveContinuity(reply.continuity);
    // The session belongs to the old certificate.
    state.forgetTlsSession();
    state.saveActivation(
      {
        ...a,
        computerId: reply.computerId,
        policyId: reply.policyId,
        policyName: reply.policyName,
        activatedAt: Date.now(),
      },
      { key: keyPem, cert: reply.certificate, ca: creds.ca },
    );
    await completeActivation(state, reply, {
      message: `${reason === 'cloned' ? 'a copy of another host: activated as a computer of its own' : 'unknown to the manager: activated'} (computer ${reply.computerId}, policy "${reply.policyName}", no token)`,
      data: { reason, computerId: reply.computerId },
    });
    return {
      computerId: reply.computerId,
      policyName: reply.policyName,
      reactivated: reply.reactivated === true,
      newIdentity: reply.hostIdentity !== undefined,
    } satisfies Reactivated;
  });
}
