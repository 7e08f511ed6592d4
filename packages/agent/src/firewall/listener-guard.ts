import { readFileSync } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import {
  compileFirewall,
  effectiveFirewallRules,
  type FirewallDecision,
  type FirewallMatcher,
  type SecurityConfiguration,
  validateFirewallConfiguration,
} from '@palisade/core';
import type { StateDir } from '../state-dir.js';

/** A connection the agent's listener accepted, as its socket describes it. */
export interface ListenerPeer {
  /** The peer's address (`socket.remoteAddress`); IPv4-mapped IPv6 counts as IPv4. */
  readonly ip: string;
  /** The local port it connected to (`socket.localPort`): the listening port. */
  readonly port: number;
  /** `socket.remotePort`, for rules with source ports. */
  readonly sourcePort?: number;
  /** `socket.localAddress`, for rules with destination addresses. */
  readonly localIp?: string;
  /**
   * The Ethernet source address, for rules with source MACs. Default: looked up in the kernel's
   * neighbour table (/proc/net/arp, IPv4) — the same address nftables' `ether saddr` sees for a
   * peer on the link (for a routed peer, its router's). Unknown: rules testing it do not match.
   */
  readonly mac?: string | null;
}

export interface PeerVerdict {
  readonly permitted: boolean;
  /** For the listener's log line: which rule or implicit outcome decided, and why. */
  readonly reason: string;
  readonly ruleId: string | null;
}

/** One compiled configuration (listeners read it per connection; the rules change rarely). */
let cache: { key: string; matcher: FirewallMatcher | Error } | null = null;

function matcherFor(configuration: SecurityConfiguration): FirewallMatcher | Error {
  const key = JSON.stringify([
    configuration.firewall.rules,
    configuration.firewall.lists ?? null,
    configuration.communication.listen,
    configuration.communication.listeningPort,
  ]);
  if (cache?.key === key) return cache.matcher;
  let matcher: FirewallMatcher | Error;
  const v = validateFirewallConfiguration(configuration.firewall);
  if (!v.ok) {
    matcher = new Error(`firewall rules are not valid: ${v.problems.join('; ')}`);
  } else {
    try {
      const effective = effectiveFirewallRules({
        rules: v.rules,
        lists: v.lists,
        listen: configuration.communication.listen,
        listeningPort: configuration.communication.listeningPort,
      });
      matcher = compileFirewall(effective.rules, effective.lists);
    } catch (e) {
      matcher = e as Error;
    }
  }
  cache = { key, matcher };
  return matcher;
}

/**
 * The MAC the kernel has for an IPv4 neighbour, from /proc/net/arp (proc(5): "IP address  HW
 * type  Flags  HW address  Mask  Device"); null when unknown or not on Linux.
 */
export function neighbourMac(ip: string): string | null {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (isIP(v4) !== 4) return null;
  let table: string;
  try {
    table = readFileSync('/proc/net/arp', 'utf8');
  } catch {
    return null;
  }
  for (const line of table.split('\n').slice(1)) {
    const [addr, , flags, mac] = line.trim().split(/\s+/);
    // Flag 0x2 (ATF_COM): the entry is complete; 00:00:… is an incomplete one.
    if (addr === v4 && mac && flags && (parseInt(flags, 16) & 0x2) !== 0) return mac.toLowerCase();
  }
  return null;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/**
 * Whether the agent's listener should serve a peer, decided by the configuration's effective
 * firewall rules (hidden listening-port rule included) with core's evaluator, as a new incoming
 * TCP connection to the listening port. This is the listener's own check, so the restriction
 * holds where nftables is absent (docs/architecture.md "Firewall"); where nftables runs, the kernel has already
 * applied the same rules in the same order, so the two agree.
 *
 * No configuration yet, or firewall Off: permitted (mutual TLS still admits only the manager).
 * Rules that cannot be compiled: refused — a listener must not fall open on a bad policy.
 */
export function firewallPeerDecision(
  configuration: SecurityConfiguration | null | undefined,
  peer: ListenerPeer,
): PeerVerdict {
  if (!configuration) return { permitted: true, reason: 'no configuration applied yet', ruleId: null };
  if (configuration.firewall?.state === 'Off') return { permitted: true, reason: 'firewall is Off', ruleId: null };
  const matcher = matcherFor(configuration);
  if (matcher instanceof Error) return { permitted: false, reason: matcher.message, ruleId: null };
  const mac = peer.mac === undefined ? neighbourMac(peer.ip) : peer.mac;
  let d: FirewallDecision;
  try {
    d = evaluate(matcher, peer, mac);
  } catch (e) {
    // An address the evaluator cannot read (a socket already closed reports none): refused.
    return { permitted: false, reason: (e as Error).message, ruleId: null };
  }
  const by = d.ruleId === null ? d.reason : `${d.reason} rule ${d.ruleId}`;
  return {
    permitted: d.verdict === 'allow',
    reason: `${d.verdict === 'allow' ? 'allowed' : 'denied'} by ${by}`,
    ruleId: d.ruleId,
  };
}

function evaluate(matcher: FirewallMatcher, peer: ListenerPeer, mac: string | null): FirewallDecision {
  return matcher.evaluate({
    direction: 'incoming',
    protocol: 'tcp',
    sourceIp: peer.ip,
    destinationPort: peer.port,
    ...(peer.sourcePort !== undefined ? { sourcePort: peer.sourcePort } : {}),
    ...(peer.localIp !== undefined ? { destinationIp: peer.localIp } : {}),
    ...(mac ? { sourceMac: mac } : {}),
    loopback: isLoopback(peer.ip),
  });
}

/** {@link firewallPeerDecision} as a yes/no, for the listener's connection handler. */
export function firewallPermitsPeer(
  configuration: SecurityConfiguration | null | undefined,
  peer: ListenerPeer,
): boolean {
  return firewallPeerDecision(configuration, peer).permitted;
}

/**
 * The guard for the agent's listener (listener.ts `guard`): each accepted socket checked against
 * the configuration applied now, read from the state directory per connection so a new one takes
 * effect at once. A state that cannot be read refuses the peer (and never throws into the server).
 */
export function listenerGuard(state: StateDir): (socket: Socket) => PeerVerdict {
  return (socket) => {
    let configuration: SecurityConfiguration | undefined;
    try {
      configuration = state.appliedConfiguration()?.configuration as SecurityConfiguration | undefined;
    } catch (e) {
      return { permitted: false, reason: `applied configuration unreadable: ${(e as Error).message}`, ruleId: null };
    }
    const port = socket.localPort ?? 0;
    // The hidden rule opens the port this listener is on: the configuration's, or a local
    // --listen-port (0 included), whichever the listener was opened with.
    if (configuration && port >= 1 && port !== configuration.communication.listeningPort)
      configuration = { ...configuration, communication: { ...configuration.communication, listeningPort: port } };
    return firewallPeerDecision(configuration, {
      ip: socket.remoteAddress ?? '',
      port,
      ...(socket.remotePort !== undefined ? { sourcePort: socket.remotePort } : {}),
      ...(socket.localAddress ? { localIp: socket.localAddress } : {}),
    });
  };
}
