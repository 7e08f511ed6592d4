import {
  compileNftables,
  effectiveFirewallRules,
  NFT_TABLE_FAMILY,
  NFT_TABLE_NAME,
  nftTableNameFor,
  parseNftCounters,
  type SecurityConfiguration,
  validateFirewallConfiguration,
} from '@palisade/core';
import { AGENT_INSTALL } from '@palisade/protocol';
import type { EnforcementEngine, EnforcementOutcome, EnforcementReport } from '../enforcement-engine.js';
import type { StateDir } from '../state-dir.js';
import { type NftOptions, runNft } from './nft-command.js';

/** The driver name in heartbeats (and so in driver-offline alerts). */
export const FIREWALL_DRIVER = 'firewall';

/**
 * The nftables table of the agent whose state is in `stateDir`: `inet palisade` for the installed
 * agent (state in the package's directory), `inet palisade_<8 hex>` for any other state
 * directory, so two agents on one host each keep their own (docs/firewall.md "Enforcement").
 */
export function firewallTableFor(stateDir: string): string {
  return stateDir === AGENT_INSTALL.stateDir ? NFT_TABLE_NAME : nftTableNameFor(stateDir);
}

export interface FirewallEngineOptions extends NftOptions {
  /** The table in family `inet`; default `palisade` (see {@link firewallTableFor}). */
  readonly table?: string;
  /**
   * False: never touch nftables and report no firewall driver (the listener guard still checks
   * peers). For labs and test suites that must not change the host's firewall. Default: true
   * unless the environment has `PALISADE_AGENT_FIREWALL=off`.
   */
  readonly enabled?: boolean;
}

/**
 * For the firewall, `applied` means nftables enforces the table (or, firewall Off, the table is
 * gone); `unavailable`: nft is missing or not permitted — the listener guard still enforces the
 * rules on the listening port; `failed`: the rules are invalid or nft refused the ruleset (the
 * kernel kept the previous table: `nft -f` is one transaction); `disabled`: see
 * {@link FirewallEngineOptions.enabled}.
 */
export type FirewallApplyOutcome = EnforcementOutcome;

/** What a heartbeat carries about the firewall: its driver and `firewall.<ruleId>.packets` / `.bytes` counters (since the configuration was last applied: every apply resets them). */
export type FirewallReport = EnforcementReport;

function isEnabled(o: FirewallEngineOptions): boolean {
  return o.enabled ?? (o.env ?? process.env).PALISADE_AGENT_FIREWALL !== 'off';
}

/**
 * What `activate` and `start` say first when this agent will enforce a host firewall (issue 12:
 * an agent on a host one is only trying Palisade on must not rewrite its firewall without a
 * word); null with `PALISADE_AGENT_FIREWALL=off`.
 */
export function firewallNotice(stateDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (!isEnabled({ env })) return null;
  return (
    `this agent enforces a host firewall: it writes nftables table inet ${firewallTableFor(stateDir)} on this host ` +
    '(when run as root where nft is installed) with the rules its policy gives, which decide what may connect. ' +
    "To try Palisade out without touching this host's firewall, run the agent with PALISADE_AGENT_FIREWALL=off."
  );
}

/**
 * The agent's nftables backend: compiles a configuration's firewall with core (hidden rule
 * included, from `communication.listen`/`listeningPort`) into one `nft -f` script for table
 * `inet palisade` (or this state directory's, {@link firewallTableFor}), applies it atomically, and reads the per-rule counters back for heartbeats.
 */
export class FirewallEngine implements EnforcementEngine {
  readonly name = FIREWALL_DRIVER;

  constructor(private readonly options: FirewallEngineOptions = {}) {}

  /** The engine for the agent whose state is in `state`, on that agent's own table. */
  static forState(state: StateDir, options: FirewallEngineOptions = {}): FirewallEngine {
    return new FirewallEngine({ table: firewallTableFor(state.dir), ...options });
  }

  /** `inet NAME`, as nft's commands take it. */
  get table(): string {
    return `${NFT_TABLE_FAMILY} ${this.options.table ?? NFT_TABLE_NAME}`;
  }

  get enabled(): boolean {
    return isEnabled(this.options);
  }

  /** The nft script for a configuration; throws with the reason when it cannot be built. */
  static script(configuration: SecurityConfiguration, table: string = NFT_TABLE_NAME): string {
    const v = validateFirewallConfiguration(configuration.firewall);
    if (!v.ok) throw new Error(`firewall rules are not valid: ${v.problems.join('; ')}`);
    if (configuration.firewall.state === 'Off') return compileNftables({ rules: [] }, { state: 'Off', table });
    const effective = effectiveFirewallRules({
      rules: v.rules,
      lists: v.lists,
      listen: configuration.communication.listen,
      listeningPort: configuration.communication.listeningPort,
    });
    return compileNftables(effective, { state: 'On', table });
  }

  async apply(configuration: SecurityConfiguration): Promise<FirewallApplyOutcome> {
    let script: string;
    try {
      // Checked even when disabled: a configuration the agent could not enforce is refused alike.
      script = FirewallEngine.script(configuration, this.options.table);
    } catch (e) {
      return { outcome: 'failed', reason: (e as Error).message };
    }
    if (!this.enabled) return { outcome: 'disabled' };
    const r = await runNft(['-f', '-'], script, this.options);
    if (r.ok) return { outcome: 'applied' };
    if (r.failure === 'missing' || r.failure === 'not-permitted') return { outcome: 'unavailable', reason: r.reason };
    return {
      outcome: 'failed',
      reason: `nftables refused the firewall rules (the previous ones stay in force): ${r.reason}`,
    };
  }

  /** Removes the table (the agent forgets its activation: nothing it enforced should outlive it). */
  async remove(): Promise<FirewallApplyOutcome> {
    if (!this.enabled) return { outcome: 'disabled' };
    const r = await runNft(
      ['-f', '-'],
      compileNftables({ rules: [] }, { state: 'Off', ...(this.options.table ? { table: this.options.table } : {}) }),
      this.options,
    );
    if (r.ok) return { outcome: 'applied' };
    return r.failure === 'missing' || r.failure === 'not-permitted'
      ? { outcome: 'unavailable', reason: r.reason }
      : { outcome: 'failed', reason: r.reason };
  }

  /**
   * Status and counters for a heartbeat, for the configuration applied now. When the table should
   * exist and does not — after a reboot, or removed by hand — it is applied again first, so a
   * restarted host is protected by its first heartbeat without waiting for a new configuration.
   */
  async report(configuration: SecurityConfiguration | null): Promise<FirewallReport> {
    const none: FirewallReport = { drivers: [], counters: {} };
    if (!this.enabled || configuration === null) return none;
    // Off: nothing is expected to run (the monitor clears a driver the agent stops reporting).
    if (configuration.firewall.state === 'Off') return none;
    const offline = (reason: string): FirewallReport => ({
      drivers: [{ name: FIREWALL_DRIVER, status: 'offline', reason }],
      counters: {},
    });
    let listed = await runNft(['-j', 'list', 'table', ...this.table.split(' ')], null, this.options);
    if (!listed.ok && listed.failure === 'no-table') {
      const applied = await this.apply(configuration);
      if (applied.outcome === 'disabled') return none;
      if (applied.outcome !== 'applied')
        return offline(`table ${this.table} is missing and could not be restored: ${applied.reason}`);
      listed = await runNft(['-j', 'list', 'table', ...this.table.split(' ')], null, this.options);
    }
    if (!listed.ok) return offline(listed.reason);
    let counters: Record<string, number> = {};
    try {
      for (const [id, c] of Object.entries(parseNftCounters(listed.stdout, this.options.table))) {
        counters[`firewall.${id}.packets`] = c.packets;
        counters[`firewall.${id}.bytes`] = c.bytes;
      }
    } catch (e) {
      counters = {};
      return {
        drivers: [{ name: FIREWALL_DRIVER, status: 'online', reason: `counters unreadable: ${(e as Error).message}` }],
        counters,
      };
    }
    return { drivers: [{ name: FIREWALL_DRIVER, status: 'online' }], counters };
  }
}
