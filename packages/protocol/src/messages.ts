import { type Static, Type } from '@sinclair/typebox';
import { CommunicationState, ListenerAddress } from './communication.js';

/**
 * Wire protocol between agent and manager (docs/architecture.md "The heartbeat"). Every message carries
 * `protocolVersion`; a receiver rejects a version it does not speak with 400
 * `PROTOCOL_VERSION_UNSUPPORTED` rather than guessing.
 */
export const PROTOCOL_VERSION = 1;

/** Upper bound on any request body on the agent endpoint (events are batched below it). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Most events one heartbeat carries; the agent sends the rest on the next exchanges. */
export const MAX_EVENTS_PER_HEARTBEAT = 500;

export const AGENT_PATHS = {
  activate: '/agent/v1/activate',
  heartbeat: '/agent/v1/heartbeat',
  results: '/agent/v1/results',
  /** The agent says it is leaving (reset, uninstall): the computer becomes Deactivated. Mutual TLS. */
  deactivate: '/agent/v1/deactivate',
  /** Activation without a token, proven by the certificate held: an unknown or cloned agent (lifecycle.ts). */
  reactivate: '/agent/v1/reactivate',
  /** `GET …/<file>`: an agent package, for upgrades. Mutual TLS. */
  packages: '/agent/v1/packages',
} as const;

export const ProtocolVersion = Type.Integer({ minimum: 1, maximum: 1000 });
export const ShortString = (max = 255) => Type.String({ minLength: 1, maxLength: max });
/**
 * Every number an agent sends has an upper bound (issue 12): JSON allows `1e300`, which JSON
 * Schema counts as an integer and SQLite would store as a float. Counts and sequence numbers
 * stay exact in a JavaScript number and a 64-bit column up to 2^53 − 1.
 */
const Count = (minimum = 0) => Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER });
/** Epoch ms up to the latest time a JavaScript Date holds (ECMA-262 §21.4.1.22, 8.64e15). */
export const MAX_TIME_MS = 8.64e15;
const EpochMs = Type.Integer({ minimum: 0, maximum: MAX_TIME_MS });
/**
 * A host identity secret or a continuity token: 32 random bytes, base64url (docs/deployment.md,
 * "Reactivation"). The manager keeps only their SHA-256.
 */
export const HostSecret = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });

export const ActivationRequest = Type.Object(
  {
    protocolVersion: ProtocolVersion,
    token: ShortString(200),
    /** PKCS#10 request, PEM. The agent's private key never leaves the host. */
    csr: Type.String({ minLength: 100, maxLength: 16384 }),
    hostName: ShortString(),
    platform: ShortString(32),
    agentVersion: ShortString(64),
    /** Policy by name; when absent, the token's policy. */
    policy: Type.Optional(ShortString()),
    /** Where the agent will listen if its policy says Manager Initiated or Bidirectional (lab overrides; default: its source address, port from the configuration). */
    listener: Type.Optional(ListenerAddress),
    /** The host's identity (kept across resets): a host the manager knows gets its computer back. Absent: always a new computer. */
    hostIdentity: Type.Optional(HostSecret),
    /** The last continuity token the host was given, if any: tells the host that last talked from a copy of it. */
    continuity: Type.Optional(HostSecret),
  },
  { additionalProperties: false },
);
export type ActivationRequest = Static<typeof ActivationRequest>;

export const Driver = Type.Object(
  {
    name: ShortString(64),
    status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    reason: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type Driver = Static<typeof Driver>;

export const AgentEvent = Type.Object(
  {
    /** Agent-assigned, strictly increasing; never reused within one `epoch`. */
    seq: Count(1),
    /**
     * The numbering `seq` belongs to: the agent starts a new epoch whenever its state may have
     * gone back in time (docs/heartbeat.md, "Events and crash safety"), so that numbers reused
     * after a VM snapshot revert name new events. Events are identified by (computer, epoch,
     * seq). Absent from agents that predate epochs: the empty epoch.
     */
    epoch: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' })),
    /** Agent clock, epoch ms. */
    time: EpochMs,
    type: ShortString(64),
    severity: Type.Union([
      Type.Literal('info'),
      Type.Literal('warning'),
      Type.Literal('error'),
      Type.Literal('critical'),
    ]),
    message: Type.String({ maxLength: 4096 }),
    /** Free-form details, nested at most `MAX_EVENT_DATA_DEPTH` levels (checked beside the schema: `nestedDeeperThan`). */
    data: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type AgentEvent = Static<typeof AgentEvent>;

/**
 * How deep an event's `data` may nest (the object itself is level 1). JSON Schema cannot bound
 * the depth of a free-form value, and every reader that walks it recursively (serializers,
 * loggers, syslog formatting) would otherwise meet whatever depth an agent chose.
 */
export const MAX_EVENT_DATA_DEPTH = 16;

/** Whether `value` nests deeper than `limit` levels of arrays and objects. Iterative: a hostile depth cannot exhaust the stack here. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(v))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

export const AgentStatus = Type.Object(
  {
    version: ShortString(64),
    platform: ShortString(32),
    hostName: ShortString(),
    /** The host's uptime (since it booted), seconds. */
    uptimeSeconds: Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /**
     * The agent's own uptime (since its daemon started; for a one-shot `heartbeat` with no daemon
     * running, since that command started), seconds. Absent from agents that predate it.
     */
    agentUptimeSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    /** Agent clock at the moment the report was built, epoch ms. */
    clockTime: EpochMs,
    /**
     * Round trip of the agent's previous exchange, ms, as the agent measured it: the manager
     * corrects the clock offset by half of it. Absent when unknown (first exchange after a start).
     */
    lastRoundTripMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
export type AgentStatus = Static<typeof AgentStatus>;

/**
 * The event an agent spools when its service stops, `data: { reason, hostShutdown }`. With
 * `hostShutdown: true` it is the shutdown notice: the host (a VM) is powering off, and the
 * manager records the computer as a stopped VM rather than expecting its heartbeats.
 */
export const AGENT_STOPPED_EVENT = 'agent.stopped';

export function isHostShutdownNotice(e: { type: string; data?: Record<string, unknown> }): boolean {
  return e.type === AGENT_STOPPED_EVENT && e.data?.hostShutdown === true;
}

export const HeartbeatReport = Type.Object(
  {
    protocolVersion: ProtocolVersion,
    agent: AgentStatus,
    drivers: Type.Array(Driver, { maxItems: 64 }),
    events: Type.Array(AgentEvent, { maxItems: MAX_EVENTS_PER_HEARTBEAT }),
    counters: Type.Record(Type.String({ maxLength: 128 }), Count(), { maxProperties: 20000 }),
    /** Fingerprint of the configuration the agent has applied; null before the first one. */
    configurationFingerprint: Type.Union([Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }), Type.Null()]),
    /** Direction the agent follows and its listener; absent from agents that predate it (the manager then goes by the configuration). */
    communication: Type.Optional(CommunicationState),
    /** The continuity token of the last reply (absent before the first, or from agents that predate it). */
    continuity: Type.Optional(HostSecret),
    /**
     * The token the agent held before `continuity`: lets the manager recognise a rotation it
     * handed out and then lost (docs/deployment.md "Cloned hosts"). Absent before the second.
     */
    continuityPrevious: Type.Optional(HostSecret),
  },
  { additionalProperties: false },
);
export type HeartbeatReport = Static<typeof HeartbeatReport>;

export const ApplyConfigurationOperation = Type.Object({
  id: Type.Integer(),
  type: Type.Literal('applyConfiguration'),
  fingerprint: Type.String(),
  configuration: Type.Unknown(),
});
export type ApplyConfigurationOperation = Static<typeof ApplyConfigurationOperation>;

export const Operation = ApplyConfigurationOperation;
export type Operation = ApplyConfigurationOperation;

/** Longest heartbeat interval a manager may ask for (a day); the product's is 10 minutes. */
export const MAX_HEARTBEAT_INTERVAL_SECONDS = 86_400;

/**
 * An agent upgrade the manager asks for (docs/deployment.md "Upgrades"): the version, and its
 * package for each architecture with the SHA-256 the agent checks before installing anything.
 * The agent downloads it from `AGENT_PATHS.packages` and reports the outcome with an
 * `AGENT_UPGRADE_EVENT`.
 */
export const UpgradeOrder = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  version: ShortString(64),
  packages: Type.Array(
    Type.Object({
      file: ShortString(),
      architecture: ShortString(16),
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    }),
    { minItems: 1, maxItems: 8 },
  ),
});
export type UpgradeOrder = Static<typeof UpgradeOrder>;

/**
 * The event that says how an upgrade ended, `data: { upgradeId, outcome, from, to, reason? }`:
 * sent by the new version once it heartbeats (`succeeded`), or by the old one after a rollback
 * (`rolled-back`) or a failure before the switch (`failed`).
 */
export const AGENT_UPGRADE_EVENT = 'agent.upgrade';
export const UPGRADE_OUTCOMES = ['succeeded', 'failed', 'rolled-back'] as const;
export type UpgradeOutcome = (typeof UPGRADE_OUTCOMES)[number];

/**
 * Replies (this one, `ResultsReply`, `ActivationReply`) are validated by the agent as requests
 * are by the manager, with one difference: unknown members are allowed, so a newer manager may
 * add some without breaking older agents.
 */
export const HeartbeatReply = Type.Object({
  protocolVersion: ProtocolVersion,
  computerId: Type.Integer({ minimum: 1 }),
  /** Manager clock when the report was stored, epoch ms (the agent computes its offset). */
  serverTime: Type.Integer({ minimum: 0 }),
  /**
   * The highest `seq` among the report's events, all of which are now stored; the agent drops
   * its spool through here. 0 when the report carried none (the agent ignores an acknowledgement
   * at or below what it already dropped).
   */
  eventsAckedThrough: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  eventsStored: Type.Integer({ minimum: 0 }),
  /** Operations to run before the connection closes; results go to `results` on the same socket. */
  operations: Type.Array(Operation, { maxItems: 100 }),
  /** Binds operation results to this connection; results for it must come on the same socket. */
  exchangeId: ShortString(128),
  heartbeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: MAX_HEARTBEAT_INTERVAL_SECONDS }),
  /**
   * The computer's policy now (it may have been moved or renamed since activation); the agent's
   * `status` shows it. Absent from managers that predate it.
   */
  policyId: Type.Optional(Type.Integer({ minimum: 1 })),
  policyName: Type.Optional(ShortString()),
  /** The next continuity token, to present at the next exchange (absent: keep the one held). */
  continuity: Type.Optional(HostSecret),
  /** An upgrade to install (agent-initiated heartbeats only). */
  upgrade: Type.Optional(UpgradeOrder),
});
export type HeartbeatReply = Static<typeof HeartbeatReply>;

export const OperationResult = Type.Object(
  {
    id: Count(1),
    status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
    reason: Type.Optional(Type.String({ maxLength: 4096 })),
    /** Fingerprint of the configuration now applied. */
    fingerprint: Type.Optional(Type.String({ pattern: '^sha256:[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);
export type OperationResult = Static<typeof OperationResult>;

export const OperationResults = Type.Object(
  {
    protocolVersion: ProtocolVersion,
    exchangeId: ShortString(128),
    results: Type.Array(OperationResult, { maxItems: 100 }),
    /** The agent's communication after running the operations (a configuration may have opened or closed its listener). */
    communication: Type.Optional(CommunicationState),
  },
  { additionalProperties: false },
);
export type OperationResults = Static<typeof OperationResults>;

/** The manager's answer to `OperationResults`: which results it took, and which it ignored (not this exchange's, or repeated). */
export const ResultsReply = Type.Object({
  accepted: Type.Array(Type.Integer(), { maxItems: 100 }),
  ignored: Type.Optional(Type.Array(Type.Integer(), { maxItems: 100 })),
});
export type ResultsReply = Static<typeof ResultsReply>;

export const ActivationReply = Type.Object({
  protocolVersion: ProtocolVersion,
  computerId: Type.Integer({ minimum: 1 }),
  policyId: Type.Integer({ minimum: 1 }),
  policyName: ShortString(),
  /** The agent's certificate, PEM, issued by the manager CA from the CSR. */
  certificate: Type.String({ minLength: 100, maxLength: 65536 }),
  /** The manager CA certificate, PEM: the agent trusts exactly this for every later exchange. */
  caCertificate: Type.String({ minLength: 100, maxLength: 65536 }),
  configuration: Type.Unknown(),
  fingerprint: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
  heartbeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: MAX_HEARTBEAT_INTERVAL_SECONDS }),
  /** The first continuity token. */
  continuity: Type.Optional(HostSecret),
  /** True when the host got back the computer it had (same ID, history, policy, overrides). */
  reactivated: Type.Optional(Type.Boolean()),
  /** A new identity for the host, replacing its own: it was a copy of another computer's host. */
  hostIdentity: Type.Optional(HostSecret),
  /** The first event `seq` to use: a reactivated computer's history goes on from where it was. */
  eventSeqFrom: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
});
export type ActivationReply = Static<typeof ActivationReply>;

/** Error body on both ports: a stable code and a sentence a person can act on. */
export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
export type ErrorBody = Static<typeof ErrorBody>;
