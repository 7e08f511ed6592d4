import { type Static, Type } from '@sinclair/typebox';

/**
 * Communication direction on the wire (docs/architecture.md "The heartbeat", spec "Configure
 * communication directionality"). In Bidirectional and Manager Initiated the agent listens on
 * its listening port and the manager dials it; the exchange is the same one, driven from the
 * other end, over these routes of the agent's listener.
 */
export const AGENT_LISTENER_PATHS = {
  /** Manager → agent: "report now". Reply: a `HeartbeatReport`, exactly as the agent would POST it. */
  heartbeatRequest: '/agent-listener/v1/heartbeat-request',
  /** Manager → agent: the `HeartbeatReply` for that report (acknowledgement, operations). Reply: `OperationResults`. */
  operations: '/agent-listener/v1/operations',
  /** Manager → agent: the computer was deactivated; the agent resets itself at once (lifecycle.ts). */
  deactivate: '/agent-listener/v1/deactivate',
  /**
   * Manager → agent: the report of this exchange was refused (a copy of another computer's host,
   * lifecycle.ts `ListenerRefusal`), in place of the `HeartbeatReply`. Reply: `ListenerRefusalReply`.
   */
  refused: '/agent-listener/v1/refused',
} as const;

/**
 * Organizational units the manager CA writes into the subjects it issues; the CA chooses every
 * subject itself (an agent's CSR subject is ignored, its host name sanitized), so an agent can
 * never hold a certificate with the manager's unit. The agent's listener accepts a client
 * certificate only if it chains to the pinned manager CA AND carries `MANAGER_IDENTITY_OU`
 * (and not `AGENT_IDENTITY_OU`): another agent's certificate, from the same CA, is refused.
 */
export const MANAGER_IDENTITY_OU = 'Palisade Manager';
export const AGENT_IDENTITY_OU = 'Palisade Agents';

export const CommunicationDirection = Type.Union([
  Type.Literal('agent-initiated'),
  Type.Literal('manager-initiated'),
  Type.Literal('bidirectional'),
]);
export type CommunicationDirection = Static<typeof CommunicationDirection>;

/**
 * Where the agent's listener can be reached. `address` is for labs and NAT only: without it the
 * manager dials the address the agent's last connection came from (or, for a manager-initiated
 * computer, the one it last reached it at).
 */
export const ListenerAddress = Type.Object(
  {
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    address: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9.:_%-]+$' })),
  },
  { additionalProperties: false },
);
export type ListenerAddress = Static<typeof ListenerAddress>;

/**
 * What the agent is doing now: the direction of the configuration it applied, and its listener
 * (null when none is bound: Agent Initiated, macOS, or the port could not be opened). Sent in
 * reports and with operation results, so the manager knows at once when an agent started or
 * stopped listening, whichever side carried the change.
 */
export const CommunicationState = Type.Object(
  {
    direction: CommunicationDirection,
    listener: Type.Union([ListenerAddress, Type.Null()]),
    /** Why there is no listener although the direction wants one (port in use, macOS). */
    listenerError: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type CommunicationState = Static<typeof CommunicationState>;

/** Body of `AGENT_LISTENER_PATHS.heartbeatRequest`. */
export const HeartbeatRequest = Type.Object(
  {
    protocolVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
    /** Chosen by the manager; the agent echoes it in the results of this exchange. */
    exchangeId: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);
export type HeartbeatRequest = Static<typeof HeartbeatRequest>;
