import {
  FIREWALL_ACTIONS,
  FIREWALL_DIRECTIONS,
  FIREWALL_FRAME_TYPES,
  FIREWALL_IP_TYPES,
  FIREWALL_MAC_TYPES,
  FIREWALL_PORT_TYPES,
  FIREWALL_PRIORITIES,
  FIREWALL_PROTOCOLS,
  FIREWALL_RULE_MEMBERS,
  type FirewallRule,
  hiddenRuleMismatches,
  portsInclude,
  resolveFirewallRule,
  UNSUPPORTED_FIREWALL_RULE_MEMBERS,
} from '@palisade/core';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type {
  AssignmentChange,
  ComputerFirewall,
  EffectiveComputerFirewall,
  FirewallService,
  PolicyFirewall,
} from '../services/firewall-service.js';
import type { FirewallRuleRecord } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { EmptyReply, IdParams, Nullable, withoutReadOnlyId } from './schemas.js';
import { searchFieldsOf, searchRoute } from './search-route.js';

// ----- schemas ---------------------------------------------------------------------------------
// Deep Security's FirewallRule, member for member. Requests are shaped here and validated by core
// (validateFirewallRule), whose reasons name the member and the entry
// ("destinationPortMultiple[1]: …"); the schema only keeps out unknown members and types no
// member could have. Every member may be null (Deep Security's clients send null for "not set").

type Member = (typeof FIREWALL_RULE_MEMBERS)[number];

const Text = (maxLength: number, description?: string) =>
  Type.String({ maxLength, ...(description ? { description } : {}) });
const Bool = (description?: string) => Type.Boolean(description ? { description } : {});
const Int = (description: string) => Type.Integer({ description });
const NumberOrText = (description: string) =>
  Type.Union([Type.Integer(), Type.String({ maxLength: 16 })], { description });
const Entries = (description: string, items: TSchema = Type.String({ maxLength: 512 })) =>
  Type.Array(items, { maxItems: 4096, description });
/** A response member with one of these values (so the document, and search, know them). */
const OneOf = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** Per member: what a request may carry, and (when it differs) what a response shows. */
const MEMBERS: Record<Member, { write: TSchema; view?: TSchema; always?: true }> = {
  name: { write: Text(255, 'unique; shown in lists and events'), always: true },
  description: { write: Text(2000, 'default empty'), always: true },
  action: {
    write: Text(32, 'log-only, allow, deny, force-allow, bypass'),
    view: OneOf(FIREWALL_ACTIONS),
    always: true,
  },
  priority: {
    write: NumberOrText('"0" (lowest, default) … "4" (highest); numbers accepted'),
    view: OneOf(FIREWALL_PRIORITIES),
    always: true,
  },
  direction: { write: Text(32, 'incoming (default), outgoing'), view: OneOf(FIREWALL_DIRECTIONS), always: true },
  frameType: {
    write: Text(32, 'any, ip (default: IPv4 or IPv6), arp, revarp, ipv4, ipv6, other'),
    view: OneOf(FIREWALL_FRAME_TYPES),
    always: true,
  },
  frameNumber: {
    write: NumberOrText('the EtherType: required for frameType other (0x0600–0xFFFF); shown for every type but any'),
    view: Type.Integer(),
  },
  frameNot: { write: Bool('invert the frame type match (default false)'), always: true },
  protocol: {
    write: Text(32, 'any (default), icmp, igmp, ggp, tcp, pup, udp, idp, nd, raw, tcp-udp, icmpv6, other'),
    view: OneOf(FIREWALL_PROTOCOLS),
    always: true,
  },
  protocolNumber: { write: NumberOrText('IP protocol number 0–255, for protocol other'), view: Type.Integer() },
  protocolNot: { write: Bool(), always: true },
  sourceIPType: {
    write: Text(32, 'any (default), masked-ip, range, ip-list, single, multiple'),
    view: OneOf(FIREWALL_IP_TYPES),
    always: true,
  },
  sourceIPValue: { write: Text(64, 'for single and masked-ip') },
  sourceIPMask: { write: Text(64, 'for masked-ip: a prefix length, or an IPv4 dotted mask') },
  sourceIPRangeFrom: { write: Text(64, 'for range') },
  sourceIPRangeTo: { write: Text(64, 'for range') },
  sourceIPMultiple: { write: Entries('for multiple: addresses, a/len, a/mask, a-b') },
  sourceIPListID: { write: Int('for ip-list: an IP list ID (0: none)') },
  sourceIPNot: { write: Bool(), always: true },
  sourceMACType: {
    write: Text(32, 'any (default), single, mac-list, multiple'),
    view: OneOf(FIREWALL_MAC_TYPES),
    always: true,
  },
  sourceMACValue: { write: Text(64, 'for single') },
  sourceMACMultiple: { write: Entries('for multiple') },
  sourceMACListID: { write: Int('for mac-list: a MAC list ID (0: none)') },
  sourceMACNot: { write: Bool(), always: true },
  sourcePortType: {
    write: Text(32, 'any (default), multiple, port-list; tcp, udp and tcp-udp only'),
    view: OneOf(FIREWALL_PORT_TYPES),
    always: true,
  },
  sourcePortMultiple: {
    write: Entries(
      'for multiple: ports and ranges (from-to)',
      Type.Union([Type.String({ maxLength: 64 }), Type.Integer()]),
    ),
    view: Type.Array(Type.String()),
  },
  sourcePortListID: { write: Int('for port-list: a port list ID (0: none)') },
  sourcePortNot: { write: Bool(), always: true },
  destinationIPType: {
    write: Text(32, 'any (default), masked-ip, range, ip-list, single, multiple'),
    view: OneOf(FIREWALL_IP_TYPES),
    always: true,
  },
  destinationIPValue: { write: Text(64) },
  destinationIPMask: { write: Text(64) },
  destinationIPRangeFrom: { write: Text(64) },
  destinationIPRangeTo: { write: Text(64) },
  destinationIPMultiple: { write: Entries('addresses, a/len, a/mask, a-b') },
  destinationIPListID: { write: Int('an IP list ID (0: none)') },
  destinationIPNot: { write: Bool(), always: true },
  destinationMACType: {
    write: Text(32, 'any (default), single, mac-list, multiple'),
    view: OneOf(FIREWALL_MAC_TYPES),
    always: true,
  },
  destinationMACValue: { write: Text(64) },
  destinationMACMultiple: { write: Entries('MAC addresses') },
  destinationMACListID: { write: Int('a MAC list ID (0: none)') },
  destinationMACNot: { write: Bool(), always: true },
  destinationPortType: {
    write: Text(32, 'any (default), multiple, port-list'),
    view: OneOf(FIREWALL_PORT_TYPES),
    always: true,
  },
  destinationPortMultiple: {
    write: Entries('ports and ranges (from-to)', Type.Union([Type.String({ maxLength: 64 }), Type.Integer()])),
    view: Type.Array(Type.String()),
  },
  destinationPortListID: { write: Int('a port list ID (0: none)') },
  destinationPortNot: { write: Bool(), always: true },
  anyFlags: { write: Bool('true (default): TCP flags are not tested'), always: true },
  logDisabled: { write: Bool('log-only rules: count without a log line (default false)'), always: true },
  includePacketData: { write: Bool('stored and shown; Palisade captures no packet data'), always: true },
  alertEnabled: { write: Bool('stored and shown; Palisade raises no alert on rule matches'), always: true },
  tcpflags: {
    write: Entries(
      'with anyFlags false: fin, syn, rst, psh, ack, urg — every one listed must be set',
      Type.String({ maxLength: 8 }),
    ),
  },
  TCPNot: { write: Bool('invert the flags test'), always: true },
  ICMPType: { write: Int('ICMP or ICMPv6 type 0–255') },
  ICMPCode: { write: Int('ICMP code 0–255, with a type') },
  ICMPNot: { write: Bool(), always: true },
};

const nullable = (t: TSchema) => Type.Optional(Nullable(t));
const ruleWriteMembers = {
  ID: Type.Optional(Type.Integer({ description: 'read-only: accepted when it is the rule being written' })),
  ...Object.fromEntries(FIREWALL_RULE_MEMBERS.map((m) => [m, nullable(MEMBERS[m].write)])),
  ...Object.fromEntries(
    UNSUPPORTED_FIREWALL_RULE_MEMBERS.map((m) => [
      m,
      nullable(Type.Integer({ description: 'Palisade has no schedules or rule contexts: only 0 (none)' })),
    ]),
  ),
  TCPFlags: nullable(Entries('another spelling of tcpflags', Type.String({ maxLength: 8 }))),
};
/** Create, modify and replace: core says what is required and what belongs to which type. */
const RuleWrite = Type.Object(ruleWriteMembers, { additionalProperties: false });

const ruleViewMembers = Object.fromEntries(
  FIREWALL_RULE_MEMBERS.map((m) => {
    const d = MEMBERS[m];
    const t = d.view ?? d.write;
    return [m, d.always ? t : Type.Optional(t)];
  }),
);
const RuleView = Type.Object({ ID: Type.Integer(), ...ruleViewMembers });
const RuleList = Type.Object({ firewallRules: Type.Array(RuleView) });

const RuleIds = Type.Object(
  {
    ruleIDs: Type.Array(Type.Integer({ minimum: 1 }), {
      maxItems: 10000,
      description: 'firewall rule IDs, in the order to list them; repeats are kept once',
    }),
  },
  { additionalProperties: false },
);
const Inherited = Type.Array(
  Type.Object({
    ruleID: Type.Integer(),
    policyID: Type.Integer({ description: 'the policy (this one or an ancestor) that assigns it' }),
  }),
);
export const PolicyFirewallView = Type.Object({
  policyID: Type.Integer(),
  ruleIDs: Type.Array(Type.Integer(), { description: 'assigned on this policy itself' }),
  inheritedRuleIDs: Inherited,
  effectiveRuleIDs: Type.Array(Type.Integer(), {
    description: 'inherited, then own, each once: what computers on this policy get',
  }),
});
export const ComputerFirewallView = Type.Object({
  computerID: Type.Integer(),
  ruleIDs: Type.Array(Type.Integer(), { description: 'assigned on this computer itself, added to its policy chain' }),
  inheritedRuleIDs: Inherited,
  effectiveRuleIDs: Type.Array(Type.Integer(), { description: 'inherited, then own, each once' }),
});

const Counter = Nullable(
  Type.Object(
    { packets: Type.Integer(), bytes: Type.Integer() },
    { description: 'from the last heartbeat; since the configuration was last applied (every apply resets them)' },
  ),
);
const EffectiveRuleView = Type.Object({
  ID: Nullable(Type.Integer({ description: 'the rule resource; null for the hidden rule' })),
  agentRuleID: Type.String({
    description:
      'the id the agent uses: its nftables counter is r_<agentRuleID>, its heartbeat counters firewall.<agentRuleID>.packets/.bytes',
  }),
  hidden: Type.Boolean({ description: 'synthesized by the manager for the listening port (not a rule resource)' }),
  source: Type.String({ description: 'hidden, policy:<ID> (assigned there, or inherited from there) or computer' }),
  replacesHiddenRule: Type.Boolean({ description: 'this user rule replaces the hidden listening-port rule' }),
  hiddenRuleMismatches: Type.Optional(
    Type.Array(Type.String(), {
      description: 'for an incoming rule naming the listening port that does not replace the hidden rule: why not',
    }),
  ),
  counters: Counter,
  ...ruleViewMembers,
});
export const EffectiveView = Type.Object({
  computerID: Type.Integer(),
  firewallState: Type.String({ description: 'On, or Off (nothing is enforced: the agent removes its table)' }),
  communicationDirection: Type.String({ description: 'agent-initiated, manager-initiated, bidirectional' }),
  listeningPort: Nullable(
    Type.Integer({ description: 'the port the agent listens on; null when it does not listen (Agent Initiated)' }),
  ),
  hiddenRule: Type.String({
    description:
      'present (synthesized, first in rules), replaced (a user rule replaces it: see hiddenRuleReplacedBy) or absent (the agent does not listen)',
  }),
  hiddenRuleReplacedBy: Nullable(Type.Integer({ description: 'ID of the rule that replaces it' })),
  configurationFingerprint: Type.String({
    description: 'of the configuration these rules are part of (the expected one)',
  }),
  rules: Type.Array(EffectiveRuleView, {
    description:
      'what the agent enforces, in assignment order (hidden rule first); evaluation goes by priority 4→0, then bypass, log-only, force-allow, deny, allow',
  }),
});

type Id = Static<typeof IdParams>;

// ----- views -----------------------------------------------------------------------------------

function ruleFieldsView(rule: FirewallRule) {
  const { id: _id, ...fields } = rule;
  return fields;
}

function ruleView(r: FirewallRuleRecord) {
  return { ID: r.id, ...ruleFieldsView(r.rule) };
}

function policyFirewallView(p: PolicyFirewall) {
  return {
    policyID: p.policyId,
    ruleIDs: [...p.ruleIds],
    inheritedRuleIDs: p.inherited.map((i) => ({ ruleID: i.ruleId, policyID: i.policyId })),
    effectiveRuleIDs: [...p.effectiveRuleIds],
  };
}

function computerFirewallView(c: ComputerFirewall) {
  return {
    computerID: c.computerId,
    ruleIDs: [...c.ruleIds],
    inheritedRuleIDs: c.inherited.map((i) => ({ ruleID: i.ruleId, policyID: i.policyId })),
    effectiveRuleIDs: [...c.effectiveRuleIds],
  };
}

/** An incoming rule whose destination ports include the port (so it looks meant for it). */
function namesPort(rule: FirewallRule, port: number, lists: EffectiveComputerFirewall['effective']['lists']): boolean {
  const ports = resolveFirewallRule(rule, lists).destinationPort;
  return rule.direction === 'incoming' && ports !== null && !ports.not && portsInclude(ports.values, port);
}

function effectiveView(e: EffectiveComputerFirewall) {
  const counters = e.computer.counters;
  const port = e.effective.listeningPort;
  return {
    computerID: e.computer.id,
    firewallState: e.configuration.firewall.state,
    communicationDirection: e.configuration.communication.direction,
    listeningPort: port,
    hiddenRule: e.effective.hiddenRule,
    hiddenRuleReplacedBy: e.effective.replacedBy === null ? null : Number(e.effective.replacedBy),
    configurationFingerprint: e.fingerprint,
    rules: e.effective.rules.map((r) => {
      const { hidden, ...rule } = r;
      const packets = counters[`firewall.${r.id}.packets`];
      const bytes = counters[`firewall.${r.id}.bytes`];
      const mismatches =
        !hidden && port !== null && e.effective.replacedBy !== r.id && namesPort(rule, port, e.effective.lists)
          ? hiddenRuleMismatches(rule, port, e.effective.lists)
          : [];
      return {
        ID: hidden ? null : Number(r.id),
        agentRuleID: r.id,
        hidden,
        source: hidden ? 'hidden' : (e.sources.get(r.id) ?? 'computer'),
        replacesHiddenRule: e.effective.replacedBy === r.id,
        ...(mismatches.length > 0 ? { hiddenRuleMismatches: mismatches } : {}),
        counters: packets !== undefined && bytes !== undefined ? { packets, bytes } : null,
        ...ruleFieldsView(rule),
      };
    }),
  };
}

// ----- routes ----------------------------------------------------------------------------------

/**
 * Firewall rules (`/api/firewallrules…`, Deep Security's resource name), their assignment to
 * policies and computers (`…/firewall`, Deep Security's `firewall.ruleIDs` as a sub-resource),
 * and a computer's effective list with the hidden listening-port rule (docs/firewall.md).
 */
export function firewallRoutes(app: FastifyInstance, firewall: FirewallService): void {
  const tags = ['Firewall'];

  app.get(
    '/api/firewallrules',
    { schema: { summary: 'List firewall rules', tags, response: { 200: RuleList } } },
    async () => ({
      firewallRules: (await firewall.listRules()).map(ruleView),
    }),
  );

  searchRoute(app, {
    path: '/api/firewallrules',
    envelope: 'firewallRules',
    view: RuleView,
    fields: searchFieldsOf(RuleView),
    noun: 'firewall rules',
    tags,
    list: async () => (await firewall.listRules()).map(ruleView),
  });

  app.post<{ Body: Static<typeof RuleWrite> }>(
    '/api/firewallrules',
    {
      schema: {
        summary: 'Create a firewall rule',
        description:
          "Validated and checked against the agent's nftables backend when saved: a rule that could not be enforced is refused with the reason. Assign it to policies or computers to enforce it.",
        tags,
        body: RuleWrite,
        response: { 200: RuleView },
      },
    },
    async (req) =>
      ruleView(
        await firewall.createRule(
          withoutReadOnlyId(req.body, undefined, 'FIREWALL_RULE_INVALID', 'rule'),
          actorOf(req),
        ),
      ),
  );

  app.get<{ Params: Id }>(
    '/api/firewallrules/:id',
    { schema: { summary: 'Describe a firewall rule', tags, params: IdParams, response: { 200: RuleView } } },
    async (req) => ruleView(await firewall.getRule(Number(req.params.id))),
  );

  app.post<{ Params: Id; Body: Static<typeof RuleWrite> }>(
    '/api/firewallrules/:id',
    {
      schema: {
        summary: 'Modify a firewall rule',
        description:
          'Members sent replace the stored ones, the rest stay (values of a type the change replaces go with it: sourceIPType any drops sourceIPValue). A rule read and sent back unchanged changes nothing. Computers enforcing the rule become Update Pending (Heartbeat).',
        tags,
        params: IdParams,
        body: RuleWrite,
        response: { 200: RuleView },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      return ruleView(
        await firewall.modifyRule(
          id,
          withoutReadOnlyId(req.body, id, 'FIREWALL_RULE_INVALID', 'rule'),
          'merge',
          actorOf(req),
        ),
      );
    },
  );

  app.put<{ Params: Id; Body: Static<typeof RuleWrite> }>(
    '/api/firewallrules/:id',
    {
      schema: {
        summary: 'Replace a firewall rule',
        description:
          "The body is the whole rule: members not sent return to Deep Security's defaults (frame ip, everything else any, not negated). Palisade's addition; Deep Security modifies with POST.",
        tags,
        params: IdParams,
        body: RuleWrite,
        response: { 200: RuleView },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      return ruleView(
        await firewall.modifyRule(
          id,
          withoutReadOnlyId(req.body, id, 'FIREWALL_RULE_INVALID', 'rule'),
          'replace',
          actorOf(req),
        ),
      );
    },
  );

  app.delete<{ Params: Id }>(
    '/api/firewallrules/:id',
    {
      schema: {
        summary: 'Delete a firewall rule',
        description: 'Refused (FIREWALL_RULE_IN_USE, naming them) while a policy or computer assigns it.',
        tags,
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      await firewall.deleteRule(Number(req.params.id), actorOf(req));
      return reply.status(204).send();
    },
  );

  app.get<{ Params: Id }>(
    '/api/policies/:id/firewall',
    {
      schema: {
        summary: "Describe a policy's firewall rule assignments",
        tags,
        params: IdParams,
        response: { 200: PolicyFirewallView },
      },
    },
    async (req) => policyFirewallView(await firewall.policyFirewall(Number(req.params.id))),
  );

  app.post<{ Params: Id; Body: Static<typeof RuleIds> }>(
    '/api/policies/:id/firewall',
    {
      schema: {
        summary: "Set a policy's firewall rules",
        description:
          'Replaces the rules assigned on the policy itself. Sub-policies and computers inherit them (and may add their own, not remove these); every computer on the policy or below becomes Update Pending (Heartbeat).',
        tags,
        params: IdParams,
        body: RuleIds,
        response: { 200: PolicyFirewallView },
      },
    },
    async (req) =>
      policyFirewallView(await firewall.setPolicyFirewall(Number(req.params.id), req.body.ruleIDs, actorOf(req))),
  );

  app.get<{ Params: Id }>(
    '/api/computers/:id/firewall',
    {
      schema: {
        summary: "Describe a computer's firewall rule assignments",
        tags,
        params: IdParams,
        response: { 200: ComputerFirewallView },
      },
    },
    async (req) => computerFirewallView(await firewall.computerFirewall(Number(req.params.id))),
  );

  app.post<{ Params: Id; Body: Static<typeof RuleIds> }>(
    '/api/computers/:id/firewall',
    {
      schema: {
        summary: "Set a computer's own firewall rules",
        description:
          'Replaces the rules assigned on the computer itself, added to those of its policy chain. The computer becomes Update Pending (Heartbeat).',
        tags,
        params: IdParams,
        body: RuleIds,
        response: { 200: ComputerFirewallView },
      },
    },
    async (req) =>
      computerFirewallView(await firewall.setComputerFirewall(Number(req.params.id), req.body.ruleIDs, actorOf(req))),
  );

  assignmentRoutes(app, firewall, tags);

  app.get<{ Params: Id }>(
    '/api/computers/:id/firewall/effective',
    {
      schema: {
        summary: "A computer's effective firewall rules",
        description:
          'What its agent enforces under the expected configuration: the hidden listening-port rule (while the agent listens) unless a user rule replaces it, then the rules of its policy chain and its own, with per-rule counters from the last heartbeat.',
        tags,
        params: IdParams,
        response: { 200: EffectiveView },
      },
    },
    async (req) => effectiveView(await firewall.effectiveForComputer(Number(req.params.id))),
  );
}

const Assignments = Type.Object({
  assignedRuleIDs: Type.Array(Type.Integer(), {
    description: 'the rules assigned on the policy or computer itself, in assignment order (not what it inherits)',
  }),
});
const AssignmentParams = Type.Object(
  {
    id: IdParams.properties.id,
    ruleID: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'firewall rule ID' }),
  },
  { additionalProperties: false },
);

/**
 * Deep Security's `…/firewall/assignments` under policies and computers: `GET` the rules assigned
 * there (`assignedRuleIDs`), `POST` adds rules, `PUT` sets the list, `DELETE …/{ruleID}` removes
 * one (removing one not assigned is no change). Each change reaches the computers it concerns, as
 * `POST …/firewall` does.
 */
function assignmentRoutes(app: FastifyInstance, firewall: FirewallService, tags: string[]): void {
  for (const o of [
    {
      collection: 'policies',
      noun: 'policy',
      read: async (id: number) => (await firewall.policyFirewall(id)).ruleIds,
      change: async (id: number, mode: AssignmentChange, ids: readonly number[], actor: string) =>
        (await firewall.assignPolicyRules(id, mode, ids, actor)).ruleIds,
    },
    {
      collection: 'computers',
      noun: 'computer',
      read: async (id: number) => (await firewall.computerFirewall(id)).ruleIds,
      change: async (id: number, mode: AssignmentChange, ids: readonly number[], actor: string) =>
        (await firewall.assignComputerRules(id, mode, ids, actor)).ruleIds,
    },
  ] as const) {
    const path = `/api/${o.collection}/:id/firewall/assignments`;
    const view = (ids: readonly number[]) => ({ assignedRuleIDs: [...ids] });
    app.get<{ Params: Id }>(
      path,
      {
        schema: {
          summary: `List firewall rule IDs assigned to a ${o.noun}`,
          tags,
          params: IdParams,
          response: { 200: Assignments },
        },
      },
      async (req) => view(await o.read(Number(req.params.id))),
    );
    for (const [method, mode, summary] of [
      ['post', 'add', `Add firewall rule IDs to a ${o.noun}`],
      ['put', 'set', `Set the firewall rule IDs of a ${o.noun}`],
    ] as const) {
      app[method]<{ Params: Id; Body: Static<typeof RuleIds> }>(
        path,
        {
          schema: { summary, tags, params: IdParams, body: RuleIds, response: { 200: Assignments } },
        },
        async (req) => view(await o.change(Number(req.params.id), mode, req.body.ruleIDs, actorOf(req))),
      );
    }
    app.delete<{ Params: Static<typeof AssignmentParams> }>(
      `${path}/:ruleID`,
      {
        schema: {
          summary: `Remove a firewall rule ID from a ${o.noun}`,
          tags,
          params: AssignmentParams,
          response: { 200: Assignments },
        },
      },
      async (req) => view(await o.change(Number(req.params.id), 'remove', [Number(req.params.ruleID)], actorOf(req))),
    );
  }
}
