/**
 * The hidden listening-port rule (docs/architecture.md "Firewall", "Hidden rule").
 *
 * Reference (agent-communication.txt, "What to do next" under communication directionality):
 * "[the manager] automatically implements a (hidden) firewall rule (priority four, Bypass) that
 * opens the listening port number for heartbeats on the agents to incoming TCP/IP traffic. By
 * default, it will accept connection attempts from any IP address and any MAC address. … This new
 * firewall rule would replace the hidden firewall rule if the settings match these settings:
 * action: force allow or bypass; priority: 4 - highest; packet's direction: incoming; frame type:
 * IP; protocol: TCP; packet's destination port: agent's listening port number …, or a list that
 * includes the port number."
 *
 * The rule exists only while the agent listens (Bidirectional, Manager Initiated); in Agent
 * Initiated mode nothing listens, so nothing is opened.
 */
import { type FirewallListContents, listContentsFor, NO_FIREWALL_LISTS } from './firewall-lists.js';
import { portsInclude, resolveFirewallRule } from './firewall-match.js';
import {
  dedupeFirewallRules,
  FIREWALL_RULE_DEFAULTS,
  FIREWALL_RULE_MEMBERS,
  type FirewallRule,
  FRAME_TYPE_NUMBERS,
  RESERVED_RULE_ID_PREFIX,
} from './firewall-rule.js';
import { DEFAULT_AGENT_LISTENING_PORT } from './settings-catalog.js';

/** Id of the synthesized rule; the `hidden-` prefix is refused for operators' rules. */
export const HIDDEN_LISTENING_PORT_RULE_ID = 'hidden-listening-port';

/** A rule as the agent enforces it: `hidden` marks the one core synthesized. */
export type EffectiveFirewallRule = FirewallRule & { readonly hidden: boolean };

export interface EffectiveFirewallInput {
  /** The operator's rules (validated), in assignment order. */
  readonly rules: readonly FirewallRule[];
  /** The items of the lists the rules name; default none (a rule naming a list then throws). */
  readonly lists?: FirewallListContents;
  /** True in Bidirectional and Manager Initiated (`SecurityConfiguration.communication.listen`). */
  readonly listen: boolean;
  /** Defaults to {@link DEFAULT_AGENT_LISTENING_PORT} (4118). */
  readonly listeningPort?: number;
}

export interface EffectiveFirewall {
  /** What the agent enforces: the hidden rule first when present, then the operator's rules. */
  readonly rules: readonly EffectiveFirewallRule[];
  /** The items of the lists the rules name (and only those). */
  readonly lists: FirewallListContents;
  /**
   * `present`: synthesized and in `rules`. `replaced`: the agent listens but an operator's rule
   * qualifies (see {@link hiddenRuleMismatches}), so it is left out. `absent`: the agent does not
   * listen.
   */
  readonly hiddenRule: 'present' | 'replaced' | 'absent';
  /** The first qualifying operator rule (in `rules` order) when `hiddenRule` is `replaced`. */
  readonly replacedBy: string | null;
  /** The port the hidden rule is about; null when the agent does not listen. */
  readonly listeningPort: number | null;
}

/** The synthesized rule for a listening port: priority-4 bypass, incoming TCP/IP to that port. */
export function hiddenListeningPortRule(listeningPort: number): EffectiveFirewallRule {
  checkPort(listeningPort);
  const rule: Record<string, unknown> = {
    id: HIDDEN_LISTENING_PORT_RULE_ID,
    name: `Agent listening port ${listeningPort} (hidden)`,
    ...FIREWALL_RULE_DEFAULTS,
    description:
      'Synthesized while the agent listens (Bidirectional, Manager Initiated) so the manager can reach it. A priority-4 force-allow or bypass rule for incoming TCP over IP to this port replaces it.',
    action: 'bypass',
    priority: '4',
    direction: 'incoming',
    frameType: 'ip',
    frameNumber: FRAME_TYPE_NUMBERS.ip,
    protocol: 'tcp',
    destinationPortType: 'multiple',
    destinationPortMultiple: Object.freeze([String(listeningPort)]),
  };
  // In the members' order, as validateFirewallRule leaves operators' rules.
  const ordered = Object.fromEntries(
    ['id', ...FIREWALL_RULE_MEMBERS].filter((k) => k in rule).map((k) => [k, rule[k]]),
  );
  return Object.freeze({ ...ordered, hidden: true }) as EffectiveFirewallRule;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`listening port ${port} is not 1–65535`);
}

/**
 * Why `rule` does not replace the hidden rule for `listeningPort` — one message per unmet
 * condition; empty when it replaces it. The console shows these next to an almost-qualifying rule.
 *
 * Conditions are the reference's six, read literally: frame type must be `ip` (an `ipv4`-only rule
 * would leave IPv6 to the manager closed, so it does not qualify) and protocol `tcp` (`tcp-udp`
 * names more than the reference describes). Destination ports: the port, or a port list (inline
 * `multiple` or a port list resource) that includes it.
 *
 * `not` flags: a rule with `not` on its frame type, protocol or destination ports does not qualify,
 * whatever the value — "not port 22" does cover 4118, but the reference describes a rule that names
 * the port, and a negated match is the opposite of restricting the port to chosen peers. `not`
 * flags on source/destination IP and MAC are the restriction itself and are allowed (e.g. "every
 * source except 198.18.0.9"). A rule that also tests TCP flags or ICMP does not qualify: it would
 * open the port to only part of the connections.
 *
 * @throws RangeError when the rule names a port list not in `lists`.
 */
export function hiddenRuleMismatches(
  rule: FirewallRule,
  listeningPort: number,
  lists: FirewallListContents = NO_FIREWALL_LISTS,
): string[] {
  const out: string[] = [];
  if (rule.action !== 'force-allow' && rule.action !== 'bypass')
    out.push(`action is ${rule.action}, not force-allow or bypass`);
  if (rule.priority !== '4') out.push(`priority is ${rule.priority}, not 4`);
  if (rule.direction !== 'incoming') out.push(`direction is ${rule.direction}, not incoming`);
  if (rule.frameType !== 'ip' || rule.frameNot)
    out.push(`frame type is ${rule.frameNot ? 'not ' : ''}${rule.frameType}, not ip`);
  if (rule.protocol !== 'tcp' || rule.protocolNot)
    out.push(`protocol is ${rule.protocolNot ? 'not ' : ''}${rule.protocol}, not tcp`);
  if (!rule.anyFlags) out.push('it tests TCP flags');
  const ports = resolveFirewallRule(rule, lists).destinationPort;
  if (rule.destinationPortNot) {
    out.push('destination ports are negated');
  } else if (ports === null) {
    out.push(`destination ports are any, not a list that includes ${listeningPort}`);
  } else if (!portsInclude(ports.values, listeningPort)) {
    out.push(`destination ports do not include ${listeningPort}`);
  }
  return out;
}

/** True when `rule` replaces the hidden rule for `listeningPort`. */
export function replacesHiddenRule(
  rule: FirewallRule,
  listeningPort: number,
  lists: FirewallListContents = NO_FIREWALL_LISTS,
): boolean {
  return hiddenRuleMismatches(rule, listeningPort, lists).length === 0;
}

/**
 * The rule list the agent enforces, plus whether the hidden rule is in it.
 * The same operator rule assigned twice is kept once.
 * @throws RangeError for a listening port outside 1–65535, two different rules with one id, a
 *   rule with a reserved (`hidden-`) id, or a rule naming a list not in `lists`.
 */
export function effectiveFirewallRules(input: EffectiveFirewallInput): EffectiveFirewall {
  // Feeding an effective list back in would let the hidden rule "replace" itself.
  const synthesized = input.rules.find((r) => r.id.startsWith(RESERVED_RULE_ID_PREFIX));
  if (synthesized)
    throw new RangeError(`rule "${synthesized.id}" is synthesized by core; pass the operator's rules only`);
  const user: EffectiveFirewallRule[] = dedupeFirewallRules(input.rules).map((r) =>
    Object.freeze({ ...r, hidden: false }),
  );
  const lists = listContentsFor(user, input.lists ?? NO_FIREWALL_LISTS);
  if (!input.listen) {
    return Object.freeze({
      rules: Object.freeze(user),
      lists,
      hiddenRule: 'absent',
      replacedBy: null,
      listeningPort: null,
    });
  }
  const port = input.listeningPort ?? DEFAULT_AGENT_LISTENING_PORT;
  checkPort(port);
  const replacing = user.find((r) => replacesHiddenRule(r, port, lists));
  if (replacing) {
    return Object.freeze({
      rules: Object.freeze(user),
      lists,
      hiddenRule: 'replaced',
      replacedBy: replacing.id,
      listeningPort: port,
    });
  }
  return Object.freeze({
    rules: Object.freeze([hiddenListeningPortRule(port), ...user]),
    lists,
    hiddenRule: 'present',
    replacedBy: null,
    listeningPort: port,
  });
}
