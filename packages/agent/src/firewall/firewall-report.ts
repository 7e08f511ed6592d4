import type { SecurityConfiguration } from '@palisade/core';
import type { EnforcementEngine, EnforcementReport } from '../enforcement-engine.js';
import { withLocalListeningPort } from '../listener-settings.js';
import type { ReportInputs } from '../report-builder.js';
import type { StateDir } from '../state-dir.js';
import { FirewallEngine } from './firewall-engine.js';

/**
 * The firewall's part of a heartbeat report, for the configuration applied now: the `firewall`
 * driver (online, or offline with the reason) and the per-rule counters. Whichever side opened
 * the connection, the report is built with it (see {@link withFirewallReport}).
 */
export async function firewallReport(
  state: StateDir,
  engine: EnforcementEngine = FirewallEngine.forState(state),
): Promise<EnforcementReport> {
  const applied = state.appliedConfiguration()?.configuration as SecurityConfiguration | undefined;
  return engine.report(applied ? withLocalListeningPort(applied, state) : null);
}

/**
 * `inputs` with the firewall's driver and counters added. A driver named `firewall` that
 * `inputs.drivers` reports itself wins (tests and embedders that drive the status by hand).
 */
export function withFirewallReport(firewall: EnforcementReport, inputs: ReportInputs): ReportInputs {
  const others = inputs.drivers;
  return {
    ...inputs,
    drivers: () => {
      const given = others?.() ?? [];
      return [...firewall.drivers.filter((d) => !given.some((g) => g.name === d.name)), ...given];
    },
    counters: { ...firewall.counters, ...inputs.counters },
  };
}
