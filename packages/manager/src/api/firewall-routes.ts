import { type FIREWALL_RULE_FIELDS, type FirewallRule, hiddenRuleMismatches, portInterval } from '@palisade/core';
import { type Static, type TOptional, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ConfigurationService } from '../services/configuration-service.js';
import {
  type ComputerFirewall,
  type EffectiveComputerFirewall,
  FirewallService,
  type PolicyFirewall,
} from '../services/firewall-service.js';
import type { FirewallRuleRecord } from '../store/firewall-store.js';
import type { Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { EmptyReply, IdParams, Nullable } from './schemas.js';

// ----- schemas ---------------------------------------------------------------------------------
// Requests are shaped here and validated by core (validateFirewallRule), whose reasons name the
// field and the entry ("destinationPorts[1]: 70000 is not a port"); the schema only keeps out
// unknown members and types no rule field could have.

const Word = Type.String({ maxLength: 64 });
const NumberOrWord = Type.Union([Type.Integer(), Word]);
const ListEntry = Type.Union([Type.String({ maxLength: 256 }), Type.Integer()]);
/** `"any"`, one entry, a comma/newline-separated string, or a list. */
const ListMatch = (what: string) =>
  Type.Union([Type.String({ maxLength: 65536 }), Type.Integer(), Type.Array(ListEntry, { maxItems: 4096 })], {
    description: `"any" (default), or ${what}`,
  });
const Not = (what: string) =>
  Type.Boolean({ description: `match every packet whose ${what} is NOT in the list (default false)` });

const ruleFields = {
  name: Type.String({ maxLength: 255, description: 'unique; shown in lists and events' }),
  description: Type.String({ maxLength: 2000 }),
  action: Type.String({ maxLength: 32, description: 'log-only, allow, deny, force-allow, bypass' }),
  priority: Type.Union([Type.Integer(), Word], { description: '0 (lowest) … 4 (highest), also as "0"–"4"' }),
  direction: Type.String({ maxLength: 32, description: 'incoming, outgoing' }),
  frameType: Type.Union([Type.Integer(), Word], {
    description: 'any (default), IP (v4 or v6), IPv4, IPv6, ARP, or an EtherType number 0x0600–0xFFFF',
  }),
  frameTypeNot: Type.Boolean(),
  protocol: NumberOrWord,
  protocolNot: Type.Boolean(),
  sourceIp: ListMatch('addresses, CIDR blocks (a/len) and ranges (a-b), IPv4 or IPv6'),
  sourceIpNot: Not('source IP'),
  destinationIp: ListMatch('addresses, CIDR blocks (a/len) and ranges (a-b), IPv4 or IPv6'),
  destinationIpNot: Not('destination IP'),
  sourceMac: ListMatch('MAC addresses (incoming rules only)'),
  sourceMacNot: Not('source MAC'),
  destinationMac: ListMatch('MAC addresses (incoming rules only)'),
  destinationMacNot: Not('destination MAC'),
  sourcePorts: ListMatch('ports and ranges (from-to); TCP and UDP only'),
  sourcePortsNot: Not('source port'),
  destinationPorts: ListMatch('ports and ranges (from-to); TCP and UDP only'),
  destinationPortsNot: Not('destination port'),
} satisfies Record<Exclude<(typeof FIREWALL_RULE_FIELDS)[number], 'id'>, TSchema>;

const optional = <T extends Record<string, TSchema>>(o: T) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof T]: TOptional<T[K]> };

const { name, action, priority, direction, ...rest } = ruleFields;
/** Create and replace: the four fields without a default are required. */
const RuleWrite = Type.Object(
  { name, action, priority, direction, ...optional(rest) },
  { additionalProperties: false },
);
/** Modify: absent fields keep their stored value. */
const RulePatch = Type.Object(optional(ruleFields), { additionalProperties: false });

const ListView = Type.Union([Type.Literal('any'), Type.Array(Type.String())]);
const PortsView = Type.Union([Type.Literal('any'), Type.Array(Type.Union([Type.Integer(), Type.String()]))]);
const ruleViewFields = {
  name: Type.String(),
  description: Type.String(),
  action: Type.String(),
  priority: Type.Integer(),
  direction: Type.String(),
  frameType: Type.Union([Type.String(), Type.Integer()], {
    description: 'any, ip, ipv4, ipv6, arp, or an EtherType number',
  }),
  frameTypeNot: Type.Boolean(),
  protocol: Type.Union([Type.String(), Type.Integer()], {
    description: 'any, tcp, udp, icmp, icmpv6, or an IP protocol number',
  }),
  protocolNot: Type.Boolean(),
  sourceIp: ListView,
  sourceIpNot: Type.Boolean(),
  destinationIp: ListView,
  destinationIpNot: Type.Boolean(),
  sourceMac: ListView,
  sourceMacNot: Type.Boolean(),
  destinationMac: ListView,
  destinationMacNot: Type.Boolean(),
  sourcePorts: PortsView,
  sourcePortsNot: Type.Boolean(),
  destinationPorts: PortsView,
  destinationPortsNot: Type.Boolean(),
};
const RuleView = Type.Object({
  ID: Type.Integer(),
  ...ruleViewFields,
  created: Type.Number({ description: 'epoch ms' }),
  lastModified: Type.Number({ description: 'epoch ms' }),
});
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
const PolicyFirewallView = Type.Object({
  policyID: Type.Integer(),
  ruleIDs: Type.Array(Type.Integer(), { description: 'assigned on this policy itself' }),
  inheritedRuleIDs: Inherited,
  effectiveRuleIDs: Type.Array(Type.Integer(), {
    description: 'inherited, then own, each once: what computers on this policy get',
  }),
});
const ComputerFirewallView = Type.Object({
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
  ...ruleViewFields,
});
const EffectiveView = Type.Object({
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
  return { ID: r.id, ...ruleFieldsView(r.rule), created: r.createdAt, lastModified: r.updatedAt };
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

function namesPort(rule: FirewallRule, port: number): boolean {
  return (
    rule.direction === 'incoming' &&
    rule.destinationPorts !== 'any' &&
    !rule.destinationPortsNot &&
    rule.destinationPorts.some((e) => {
      const [a, b] = portInterval(e);
      return a <= port && port <= b;
    })
  );
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
        !hidden && port !== null && e.effective.replacedBy !== r.id && namesPort(rule, port)
          ? hiddenRuleMismatches(rule, port)
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
export function firewallRoutes(
  app: FastifyInstance,
  store: Store,
  configurations: ConfigurationService,
  now: () => number,
): void {
  const firewall = new FirewallService(store, configurations, now);
  const tags = ['Firewall'];

  app.get(
    '/api/firewallrules',
    { schema: { summary: 'List firewall rules', tags, response: { 200: RuleList } } },
    async () => ({
      firewallRules: (await firewall.listRules()).map(ruleView),
    }),
  );

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
    async (req) => ruleView(await firewall.createRule(req.body, actorOf(req))),
  );

  app.get<{ Params: Id }>(
    '/api/firewallrules/:id',
    { schema: { summary: 'Describe a firewall rule', tags, params: IdParams, response: { 200: RuleView } } },
    async (req) => ruleView(await firewall.getRule(Number(req.params.id))),
  );

  app.post<{ Params: Id; Body: Static<typeof RulePatch> }>(
    '/api/firewallrules/:id',
    {
      schema: {
        summary: 'Modify a firewall rule',
        description:
          'Fields sent replace the stored ones, the rest stay. Computers enforcing the rule become Update Pending (Heartbeat).',
        tags,
        params: IdParams,
        body: RulePatch,
        response: { 200: RuleView },
      },
    },
    async (req) => ruleView(await firewall.modifyRule(Number(req.params.id), req.body, 'merge', actorOf(req))),
  );

  app.put<{ Params: Id; Body: Static<typeof RuleWrite> }>(
    '/api/firewallrules/:id',
    {
      schema: {
        summary: 'Replace a firewall rule',
        description: 'The body is the whole rule: fields not sent return to their defaults (any, not negated).',
        tags,
        params: IdParams,
        body: RuleWrite,
        response: { 200: RuleView },
      },
    },
    async (req) => ruleView(await firewall.modifyRule(Number(req.params.id), req.body, 'replace', actorOf(req))),
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
