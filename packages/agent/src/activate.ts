import { createPrivateKey, X509Certificate } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { ActivationReply, AGENT_PATHS, PROTOCOL_VERSION } from '@palisade/protocol';
import {
  announcedListener,
  type ListenerSettings,
  loadListenerSettings,
  saveListenerSettings,
} from './agent-communication.js';
import { AgentError } from './agent-error.js';
import { AGENT_VERSION } from './agent-version.js';
import { applyConfiguration } from './configuration-applier.js';
import { type AgentKeyType, generateKeyAndCsr } from './key-pair.js';
import {
  fetchPinnedCa,
  ManagerConnection,
  normalizeFingerprint,
  resolveManager,
  retryWhileBusy,
} from './manager-client.js';
import { parseManagerUrl } from './manager-url.js';
import type { StateDir } from './state-dir.js';

export interface ActivateOptions {
  managerUrl: string;
  token: string | undefined;
  caFingerprint: string | undefined;
  policy?: string;
  hostName?: string;
  /** Where to listen if the policy says Bidirectional or Manager Initiated (labs); kept in listener.json and announced to the manager. */
  listener?: ListenerSettings;
  /** The key to generate; default `ecdsa` (P-256). `rsa` for labs that mimic older agents. */
  keyType?: AgentKeyType;
  /** Told of each wait while the manager answers "busy" (the CLI prints it). */
  onBusy?: (waitMs: number, attempt: number) => void;
}

/**
 * Agent-initiated activation: check the manager's CA against the operator's fingerprint,
 * generate a key pair here, send a CSR with the token, and keep what comes back.
 */
export async function activate(state: StateDir, o: ActivateOptions) {
  if (state.isActivated())
    throw new AgentError('ALREADY_ACTIVATED', `${state.dir}; run "palisade-agent reset --yes" first to activate again`);
  const manager = parseManagerUrl(o.managerUrl);
  if (!o.caFingerprint) {
    throw new AgentError(
      'FINGERPRINT_REQUIRED',
      'without it the agent would trust whatever answers at that address; get it on the manager with "palisade-manager ca fingerprint"',
    );
  }
  const fingerprint = normalizeFingerprint(o.caFingerprint);
  if (!fingerprint)
    throw new AgentError(
      'FINGERPRINT_REQUIRED',
      `"${o.caFingerprint}" is not a SHA-256 fingerprint (sha256: and 64 hex digits)`,
    );
  if (!o.token) throw new AgentError('TOKEN_REQUIRED');
  await resolveManager(manager.host);
  const ca = await fetchPinnedCa(manager, fingerprint);
  const hostName = o.hostName ?? osHostname();
  const { keyPem, csrPem } = await generateKeyAndCsr(hostName, o.keyType);
  const hostIdentity = state.hostIdentity();
  if (o.listener) saveListenerSettings(state, o.listener);
  const listener = announcedListener(loadListenerSettings(state));
  let reply: ActivationReply;
  try {
    // In an activation storm the manager queues what it can and answers the rest 503 with a
    // Retry-After: wait that (with backoff and jitter) and try again, a bounded number of times.
    reply = await retryWhileBusy(
      async () => {
        const conn = new ManagerConnection(manager, { ca });
        try {
          const r = await conn.request(
            'POST',
            AGENT_PATHS.activate,
            {
              protocolVersion: PROTOCOL_VERSION,
              token: o.token,
              csr: csrPem,
              hostName,
              platform: process.platform,
              agentVersion: AGENT_VERSION,
              hostIdentity,
              ...(o.policy !== undefined ? { policy: o.policy } : {}),
              ...(listener ? { listener } : {}),
            },
            ActivationReply,
          );
          return r.body;
        } finally {
          conn.close();
        }
      },
      o.onBusy ? { onBusy: o.onBusy } : {},
    );
  } catch (e) {
    throw activationError(e);
  }
  checkIssuedCertificate(reply.certificate, keyPem, ca);
  // Before the activation is written (its file goes last): an activated agent always holds them.
  if (reply.hostIdentity) state.replaceHostIdentity(reply.hostIdentity);
  if (reply.continuity) state.saveContinuity(reply.continuity);
  state.saveActivation(
    {
      manager,
      computerId: reply.computerId,
      hostName,
      policyId: reply.policyId,
      policyName: reply.policyName,
      caFingerprint: fingerprint,
      activatedAt: Date.now(),
    },
    { key: keyPem, cert: reply.certificate, ca },
  );
  const applied = await completeActivation(state, reply, {
    message: `${reply.reactivated ? 'activated again' : 'activated'} as computer ${reply.computerId} with policy "${reply.policyName}"`,
  });
  return {
    computerId: reply.computerId,
    policyName: reply.policyName,
    hostName,
    configurationApplied: applied,
    /** The manager knew this host (its identity) and gave it its computer back. */
    reactivated: reply.reactivated === true,
  };
}

/** A manager's refusal of an activation as ACTIVATION_REFUSED, with its code and reason; any other error as it is. */
export function activationError(e: unknown): unknown {
  if (e instanceof AgentError && e.code === 'MANAGER_REFUSED')
    return new AgentError('ACTIVATION_REFUSED', e.message.replace(/^[^:]*: /, ''), {
      managerCode: e.managerCode,
      cause: e,
    });
  return e;
}

/**
 * The rest of an activation (with a token or without) once it is saved: the heartbeat interval
 * and configuration the reply carries, then the `agent.activated` event saying how, and
 * `configuration.failed` when the configuration could not be applied. Returns whether it was.
 */
export async function completeActivation(
  state: StateDir,
  reply: ActivationReply,
  activated: { message: string; data?: Record<string, unknown> },
): Promise<boolean> {
  state.saveHeartbeatInterval(reply.heartbeatIntervalSeconds);
  const applied = await applyConfiguration(state, reply.configuration, reply.fingerprint);
  const spool = state.spool();
  spool.append({ type: 'agent.activated', severity: 'info', ...activated });
  if (!applied.ok) spool.append({ type: 'configuration.failed', severity: 'error', message: applied.reason });
  return applied.ok;
}

/**
 * The certificate the manager issued must be a certificate, for the key generated here, signed by
 * the pinned CA: anything else would fail every later handshake, so it is refused before the
 * activation is written.
 */
export function checkIssuedCertificate(certificatePem: string, keyPem: string, caPem: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    throw new AgentError('MANAGER_REPLY_INVALID', "the activation reply's certificate is not a PEM certificate");
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem)))
    throw new AgentError(
      'MANAGER_REPLY_INVALID',
      'the certificate the manager issued is not for the key this agent made',
    );
  if (!cert.verify(new X509Certificate(caPem).publicKey))
    throw new AgentError(
      'MANAGER_REPLY_INVALID',
      'the certificate the manager issued is not signed by the pinned manager CA',
    );
}
