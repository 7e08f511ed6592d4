import { PROTOCOL_NUMBERS, validateFirewallRule } from '@palisade/core';
import type { Migration } from 'kysely';
import type { MigrationDb } from './migration-dialect.js';

/**
 * Firewall rules in Deep Security's model (issue 13): the `rule` column of 0005_firewall held the
 * first model's JSON (`sourceIp: [...]`, `destinationPorts: [80]`, `frameTypeNot`, priority as a
 * number); it now holds core's normalized Deep Security rule (`sourceIPType: multiple` with
 * `sourceIPMultiple`, …). Every stored rule is rewritten with the same meaning: its frame type is
 * kept (a rule stored as `any` stays `any`, though new rules default to `ip`).
 *
 * The old shape is read only here. A row that does not convert into a valid rule stops the
 * migration, naming it, rather than reaching an agent half-translated.
 */
export const m0006FirewallRuleModel = (): Migration => ({
  async up(db: MigrationDb) {
    const rows = (await db.selectFrom('firewall_rules').select(['id', 'rule']).execute()) as {
      id: number | string;
      rule: string;
    }[];
    for (const row of rows) {
      const old = JSON.parse(row.rule) as Record<string, unknown>;
      if ('sourceIPType' in old) continue; // already in the new model
      const converted = validateFirewallRule({ ...fromFirstModel(old), id: String(row.id) });
      if (!converted.ok)
        throw new Error(`firewall rule ${row.id} cannot be converted: ${converted.problems.join('; ')}`);
      const { id: _id, ...rule } = converted.rule;
      await db
        .updateTable('firewall_rules')
        .set({ rule: JSON.stringify(rule) })
        .where('id', '=', row.id)
        .execute();
    }
  },
});

const NAMED_PROTOCOLS = Object.entries(PROTOCOL_NUMBERS) as [string, number][];

/** The first model's members → Deep Security's. */
function fromFirstModel(old: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: old.name,
    description: old.description,
    action: old.action,
    priority: String(old.priority),
    direction: old.direction,
    frameNot: old.frameTypeNot,
    protocolNot: old.protocolNot,
  };
  if (typeof old.frameType === 'number') Object.assign(out, { frameType: 'other', frameNumber: old.frameType });
  else out.frameType = old.frameType;
  if (typeof old.protocol === 'number') {
    const named = NAMED_PROTOCOLS.find(([, n]) => n === old.protocol);
    Object.assign(out, named ? { protocol: named[0] } : { protocol: 'other', protocolNumber: old.protocol });
  } else {
    out.protocol = old.protocol;
  }
  const list = (member: string, oldName: string) => {
    const v = old[oldName];
    if (Array.isArray(v)) Object.assign(out, { [`${member}Type`]: 'multiple', [`${member}Multiple`]: v.map(String) });
    out[`${member}Not`] = old[`${oldName}Not`];
  };
  list('sourceIP', 'sourceIp');
  list('destinationIP', 'destinationIp');
  list('sourceMAC', 'sourceMac');
  list('destinationMAC', 'destinationMac');
  list('sourcePort', 'sourcePorts');
  list('destinationPort', 'destinationPorts');
  return out;
}
