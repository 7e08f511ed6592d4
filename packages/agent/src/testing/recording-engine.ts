import type { SecurityConfiguration } from '@palisade/core';
import type { EnforcementEngine, EnforcementOutcome, EnforcementReport } from '../enforcement-engine.js';

/**
 * An enforcement engine for tests of what drives engines (configuration-applier.ts,
 * heartbeat.ts): it enforces nothing, answers with the outcome and report it is given, and
 * records every configuration it was asked to apply or report on.
 */
export class RecordingEngine implements EnforcementEngine {
  readonly name = 'test-engine';
  readonly applied: SecurityConfiguration[] = [];
  readonly reportedOn: Array<SecurityConfiguration | null> = [];
  outcome: EnforcementOutcome = { outcome: 'applied' };
  reply: EnforcementReport = { drivers: [], counters: {} };

  async apply(configuration: SecurityConfiguration): Promise<EnforcementOutcome> {
    this.applied.push(configuration);
    return this.outcome;
  }

  async report(configuration: SecurityConfiguration | null): Promise<EnforcementReport> {
    this.reportedOn.push(configuration);
    return this.reply;
  }
}
