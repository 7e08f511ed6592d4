import type { SecurityConfiguration } from '@palisade/core';
import type { Driver } from '@palisade/protocol';

/**
 * What applying a configuration did. `applied`: the engine enforces it now (or, for a feature
 * turned Off, has stopped). `unavailable`: the engine cannot run on this host (a tool missing
 * or not permitted); the configuration still counts as applied and the heartbeat reports the
 * engine's driver offline with `reason`. `failed`: the configuration cannot be enforced (invalid
 * rules, refused by the kernel); it is not applied and the previous one stays in force.
 * `disabled`: the engine is turned off on this agent and touches nothing.
 */
export type EnforcementOutcome =
  | { readonly outcome: 'applied' }
  | { readonly outcome: 'unavailable'; readonly reason: string }
  | { readonly outcome: 'failed'; readonly reason: string }
  | { readonly outcome: 'disabled' };

/** What a heartbeat carries about one engine. */
export interface EnforcementReport {
  /** The engine's driver, or none (feature Off, engine disabled, nothing applied yet). */
  readonly drivers: Driver[];
  /** The engine's counters, keyed `<engine>.<id>.<name>`; empty when none. */
  readonly counters: Record<string, number>;
}

/**
 * An enforcement engine (the nftables firewall today): where configurations are applied
 * (configuration-applier.ts) and where reports are built (heartbeat.ts), the engine is passed
 * in, so a second engine, or a test's, plugs in the same way. Default there: the nftables
 * `FirewallEngine` (firewall/firewall-engine.ts).
 */
export interface EnforcementEngine {
  /** The driver name it reports under in heartbeats (and so in driver-offline alerts). */
  readonly name: string;
  /** Enforces `configuration`; never throws for a configuration it refuses (`failed` says why). */
  apply(configuration: SecurityConfiguration): Promise<EnforcementOutcome>;
  /** Status and counters for a heartbeat, for the configuration applied now (null: none yet). */
  report(configuration: SecurityConfiguration | null): Promise<EnforcementReport>;
}
