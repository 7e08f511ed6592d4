/**
 * Retention: how long, and how many, agent events, alerts, audit rows and alert notifications
 * (the notifier outbox) the manager keeps. The manager prunes in the background; these are the
 * system settings that bound it, with Deep Security's names where it has the setting
 * (`firewallSettingRetainEventDuration`, `platformSettingRetainSystemEventDuration`, values such
 * as "7 Days" and "53 Weeks") and Palisade's (`palisadeSetting…`) where it has none (row caps,
 * cleared alerts, the outbox). docs/api.md, "Retention".
 */

/** What is pruned. */
export type RetentionTable = 'events' | 'alerts' | 'audit' | 'outbox';

/** A retention setting as data: its name, which table and bound it sets, its default, what it does. */
export interface RetentionSettingDefinition {
  readonly name: string;
  readonly table: RetentionTable;
  /** `duration`: "N Hours|Days|Weeks|Months"; `max`: a row count, "0" for no cap. */
  readonly bound: 'duration' | 'max';
  readonly default: string;
  readonly description: string;
}

export const RETENTION_SETTINGS = [
  {
    name: 'firewallSettingRetainEventDuration',
    table: 'events',
    bound: 'duration',
    default: '7 Days',
    description:
      "Agent events (Palisade's agents report firewall and agent events alike) received longer ago than this are pruned, except those a notifier has not delivered yet.",
  },
  {
    name: 'palisadeSettingRetainEventMax',
    table: 'events',
    bound: 'max',
    default: '1000000',
    description:
      'At most this many agent events are kept: the oldest beyond it are pruned, delivered to notifiers or not (undelivered ones are counted and logged). 0: no cap.',
  },
  {
    name: 'palisadeSettingRetainClearedAlertDuration',
    table: 'alerts',
    bound: 'duration',
    default: '30 Days',
    description:
      'Alerts cleared longer ago than this are pruned (open alerts, dismissed or not, are never pruned), once their notifications left the outbox.',
  },
  {
    name: 'palisadeSettingRetainAlertMax',
    table: 'alerts',
    bound: 'max',
    default: '100000',
    description:
      'At most this many cleared alerts are kept: the oldest beyond it are pruned once their notifications left the outbox. Open alerts are never pruned. 0: no cap.',
  },
  {
    name: 'platformSettingRetainSystemEventDuration',
    table: 'audit',
    bound: 'duration',
    default: '53 Weeks',
    description: 'Audit log rows older than this are pruned.',
  },
  {
    name: 'palisadeSettingRetainSystemEventMax',
    table: 'audit',
    bound: 'max',
    default: '1000000',
    description: 'At most this many audit log rows are kept: the oldest beyond it are pruned. 0: no cap.',
  },
  {
    name: 'palisadeSettingRetainNotifierOutboxDuration',
    table: 'outbox',
    bound: 'duration',
    default: '7 Days',
    description:
      'Alert notifications (raised, cleared, dismissed) older than this are pruned once every notifier that takes alerts delivered them; undelivered ones are kept.',
  },
  {
    name: 'palisadeSettingRetainNotifierOutboxMax',
    table: 'outbox',
    bound: 'max',
    default: '100000',
    description:
      'At most this many alert notifications are kept: the oldest beyond it are pruned, delivered or not (undelivered ones are counted and logged). 0: no cap.',
  },
] as const satisfies readonly RetentionSettingDefinition[];

export type RetentionSettingName = (typeof RETENTION_SETTINGS)[number]['name'];

/** One table's bounds in force: `maxAgeMs` always set, `maxRows` null for no cap. */
export interface RetentionBound {
  maxAgeMs: number;
  maxRows: number | null;
}

export type RetentionSettings = Record<RetentionTable, RetentionBound>;

const UNIT_MS: Record<string, number> = {
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  // Deep Security offers "1 Month" beside weeks; taken as 30 days.
  month: 30 * 86_400_000,
};

/** Longest duration taken: ten years (a longer one is a typo more often than a policy). */
export const RETENTION_DURATION_MAX_MS = 3653 * 86_400_000;
/** Largest row cap taken. */
export const RETENTION_ROWS_MAX = 1_000_000_000;

/** "7 Days", "53 Weeks", "1 Month", "12 Hours" (Deep Security's form) → ms; null when it is not one. */
export function parseRetentionDuration(value: string): number | null {
  const m = /^([1-9][0-9]{0,5}) (Hour|Day|Week|Month)s?$/i.exec(value.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  return ms <= RETENTION_DURATION_MAX_MS ? ms : null;
}

/** Why `value` is not one `def` takes; null when it is. */
export function checkRetentionValue(def: Pick<RetentionSettingDefinition, 'bound'>, value: string): string | null {
  if (def.bound === 'duration') {
    return parseRetentionDuration(value) === null
      ? `"${value}" is not a duration such as "12 Hours", "7 Days", "53 Weeks" or "1 Month" (1 hour to 10 years)`
      : null;
  }
  if (!/^(0|[1-9][0-9]*)$/.test(value) || Number(value) > RETENTION_ROWS_MAX)
    return `"${value}" is not a row count from 0 (no cap) to ${RETENTION_ROWS_MAX}`;
  return null;
}

/** The bounds in force from stored values (absent or unusable: the default). */
export function retentionSettings(stored: Partial<Record<string, string | null>>): RetentionSettings {
  const bound0 = (): RetentionBound => ({ maxAgeMs: 0, maxRows: null });
  const out: RetentionSettings = { events: bound0(), alerts: bound0(), audit: bound0(), outbox: bound0() };
  for (const def of RETENTION_SETTINGS) {
    const given = stored[def.name];
    const value = given != null && checkRetentionValue(def, given) === null ? given : def.default;
    const bound = out[def.table];
    if (def.bound === 'duration') bound.maxAgeMs = parseRetentionDuration(value)!;
    else bound.maxRows = Number(value) === 0 ? null : Number(value);
  }
  return out;
}
