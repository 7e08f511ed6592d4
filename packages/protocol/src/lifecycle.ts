import { type Static, Type } from '@sinclair/typebox';
import { ListenerAddress } from './communication.js';
import { HostSecret, ProtocolVersion, ShortString } from './messages.js';

/**
 * The agent's life cycle on the wire (docs/deployment.md): leaving (reset, uninstall), being
 * deactivated by the manager, and activating again without a token where the settings allow.
 */

/** Agent → manager (`AGENT_PATHS.deactivate`): the agent is leaving; its computer becomes Deactivated. */
export const AgentDeactivation = Type.Object(
  {
    protocolVersion: ProtocolVersion,
    /** `reset`: palisade-agent reset; `uninstall`: palisade-agent uninstall. */
    reason: Type.Union([Type.Literal('reset'), Type.Literal('uninstall')]),
  },
  { additionalProperties: false },
);
export type AgentDeactivation = Static<typeof AgentDeactivation>;

/** The manager's answer to `AgentDeactivation`. */
export const DeactivationReply = Type.Object({
  protocolVersion: ProtocolVersion,
  computerId: Type.Integer({ minimum: 1 }),
  /** False when it was deactivated already. */
  deactivated: Type.Boolean(),
});
export type DeactivationReply = Static<typeof DeactivationReply>;

/** Manager → agent listener (`AGENT_LISTENER_PATHS.deactivate`): the computer was deactivated. */
export const ListenerDeactivation = Type.Object(
  { protocolVersion: ProtocolVersion, computerId: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);
export type ListenerDeactivation = Static<typeof ListenerDeactivation>;

/** The agent's answer: it resets itself right after answering. */
export const ListenerDeactivationReply = Type.Object({
  protocolVersion: ProtocolVersion,
  resetting: Type.Boolean(),
});
export type ListenerDeactivationReply = Static<typeof ListenerDeactivationReply>;

/**
 * Manager → agent listener (`AGENT_LISTENER_PATHS.refused`), on the connection of the exchange
 * whose report was refused: the refusal a heartbeat on 4120 would have got. `AGENT_CLONED`: this
 * host is a live copy of its computer's host. `reactivate` is the system setting "Reactivate
 * cloned Agents": when true the agent may ask to become a computer of its own
 * (`AGENT_PATHS.reactivate`) — for a Manager Initiated agent, one call to the manager
 * (docs/deployment.md "Cloned hosts").
 */
export const ListenerRefusal = Type.Object(
  {
    protocolVersion: ProtocolVersion,
    exchangeId: ShortString(128),
    code: Type.Literal('AGENT_CLONED'),
    message: Type.String({ maxLength: 1024 }),
    reactivate: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ListenerRefusal = Static<typeof ListenerRefusal>;

/** The agent's answer: whether it asks to be activated again (it does so right after answering). */
export const ListenerRefusalReply = Type.Object({
  protocolVersion: ProtocolVersion,
  reactivating: Type.Boolean(),
});
export type ListenerRefusalReply = Static<typeof ListenerRefusalReply>;

/**
 * Agent → manager (`AGENT_PATHS.reactivate`), on the mutual-TLS connection of the certificate
 * it holds: activation without a token. `unknown`: the manager does not recognise that
 * certificate (e.g. after a database restore); `cloned`: a heartbeat found this host to be a
 * copy of another. The system settings decide (core's decideActivation); the reply is an
 * `ActivationReply`.
 */
export const ReactivationRequest = Type.Object(
  {
    protocolVersion: ProtocolVersion,
    reason: Type.Union([Type.Literal('unknown'), Type.Literal('cloned')]),
    csr: Type.String({ minLength: 100, maxLength: 16384 }),
    hostName: ShortString(),
    platform: ShortString(32),
    agentVersion: ShortString(64),
    hostIdentity: HostSecret,
    continuity: Type.Optional(HostSecret),
    /** The policy the agent had, by name; the Base Policy when it no longer exists. */
    policy: Type.Optional(ShortString()),
    listener: Type.Optional(ListenerAddress),
  },
  { additionalProperties: false },
);
export type ReactivationRequest = Static<typeof ReactivationRequest>;
