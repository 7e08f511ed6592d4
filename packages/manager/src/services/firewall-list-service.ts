import {
  type FirewallListKind,
  firewallListItemProblems,
  firewallRuleListReferences,
  listNoun,
  MAX_FIREWALL_LIST_ENTRIES,
} from '@palisade/core';
import { PalisadeError } from '../errors.js';
import type {
  FirewallListRecord,
  FirewallListWrite,
  FirewallRuleRecord,
  NewAuditEvent,
  StoreTransaction,
} from '../store/store.js';
import { computersUsingRules } from './computers-using-rules.js';
import { ConfigurationChanges } from './configuration-changes.js';

/** A list as a client sends it (Deep Security's members; core checks the items). */
export interface FirewallListInput {
  readonly name?: unknown;
  readonly description?: unknown;
  readonly items?: unknown;
}

/** Checks and trims a whole list; every problem is named. */
function checkList(kind: FirewallListKind, input: FirewallListInput): FirewallListWrite {
  const problems: string[] = [];
  const text = (member: string, value: unknown, max: number, required: boolean): string => {
    if (value === undefined || value === null) {
      if (required) problems.push(`${member}: is required`);
      return '';
    }
    if (typeof value !== 'string') {
      problems.push(`${member}: is not text`);
      return '';
    }
    const t = value.trim();
    if (required && t === '') problems.push(`${member}: must not be empty`);
    if (t.length > max) problems.push(`${member}: is longer than ${max} characters`);
    return t;
  };
  const name = text('name', input.name, 255, true);
  const description = text('description', input.description, 2000, false);
  let items: string[] = [];
  if (input.items !== undefined && input.items !== null) {
    if (!Array.isArray(input.items)) problems.push('items: is not a list');
    else if (input.items.some((i) => typeof i !== 'string')) problems.push('items: every item is text');
    else {
      // Deep Security's items are "comma-delimited": one element may hold several entries (a
      // comment may hold commas, so an item with one is kept whole).
      items = (input.items as string[])
        .flatMap((i) => (i.includes('#') ? [i] : i.split(',')))
        .map((i) => i.trim())
        .filter((i) => i !== '');
      if (items.length > MAX_FIREWALL_LIST_ENTRIES)
        problems.push(`items: has more than ${MAX_FIREWALL_LIST_ENTRIES} entries`);
      else problems.push(...firewallListItemProblems(kind, items));
    }
  }
  if (problems.length > 0) throw new PalisadeError('FIREWALL_LIST_INVALID', problems.join('; '));
  return { name, description, items };
}

function listAudit(
  action: 'firewallList.create' | 'firewallList.modify' | 'firewallList.delete',
  list: { id: number; kind: FirewallListKind },
  before: FirewallListWrite | null,
  after: FirewallListWrite | null,
  actor: string,
  time: number,
): NewAuditEvent {
  const json = (l: FirewallListWrite | null) =>
    l === null ? null : JSON.stringify({ name: l.name, description: l.description, items: l.items });
  return {
    time,
    actor,
    action,
    targetType: 'firewallList',
    targetId: list.id,
    setting: list.kind,
    oldValue: json(before),
    newValue: json(after),
  };
}

/** The rules that name the list. */
function rulesNaming(rules: readonly FirewallRuleRecord[], kind: FirewallListKind, id: number): FirewallRuleRecord[] {
  return rules.filter((r) => firewallRuleListReferences(r.rule).some((ref) => ref.kind === kind && ref.id === id));
}

/**
 * IP, MAC and port lists as manager resources. A list's items are part of the configuration of
 * every computer whose rules name it: changing them recomputes those computers' expected
 * fingerprints in the same transaction (they show Update Pending (Heartbeat), listening agents
 * are dialled), and their agents get the new items. A list that rules name cannot be deleted.
 */
export class FirewallListService extends ConfigurationChanges {
  list(kind: FirewallListKind): Promise<FirewallListRecord[]> {
    return this.store.firewallLists.list(kind);
  }

  async get(kind: FirewallListKind, id: number): Promise<FirewallListRecord> {
    const l = await this.store.firewallLists.get(kind, id);
    if (!l) throw new PalisadeError('FIREWALL_LIST_NOT_FOUND', `${listNoun(kind)} ${id}`);
    return l;
  }

  async create(kind: FirewallListKind, input: FirewallListInput, actor: string): Promise<FirewallListRecord> {
    const w = checkList(kind, input);
    return this.store.transaction(async (tx) => {
      await this.requireFreeName(tx, kind, w.name, null);
      // A new list is named by no rule: no configuration changes.
      const created = await tx.firewallLists.create(kind, w, this.now());
      await tx.audit.insert([listAudit('firewallList.create', created, null, w, actor, created.createdAt)]);
      return created;
    });
  }

  /** `merge` (Deep Security's POST): members not sent keep their value. `replace`: the body is the whole list. */
  async modify(
    kind: FirewallListKind,
    id: number,
    input: FirewallListInput,
    mode: 'merge' | 'replace',
    actor: string,
  ): Promise<FirewallListRecord> {
    return this.change(async (tx, refresh) => {
      await tx.policies.lockTree();
      const current = await tx.firewallLists.get(kind, id);
      if (!current) throw new PalisadeError('FIREWALL_LIST_NOT_FOUND', `${listNoun(kind)} ${id}`);
      const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      const w = checkList(kind, mode === 'merge' ? { ...current, ...given } : input);
      const before = { name: current.name, description: current.description, items: current.items };
      if (JSON.stringify(w) === JSON.stringify(before)) return current;
      await this.requireFreeName(tx, kind, w.name, id);
      const t = this.now();
      await tx.firewallLists.update(id, w, t);
      await tx.audit.insert([listAudit('firewallList.modify', current, before, w, actor, t)]);
      if (JSON.stringify(w.items) !== JSON.stringify(current.items)) {
        const naming = rulesNaming(await tx.firewall.listRules(), kind, id).map((r) => r.id);
        await refresh(await computersUsingRules(tx, this.configurations, naming));
      }
      return { ...current, ...w, updatedAt: t };
    });
  }

  /** Refused while rules name it, naming them. */
  async delete(kind: FirewallListKind, id: number, actor: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.policies.lockTree();
      const current = await tx.firewallLists.get(kind, id);
      if (!current) throw new PalisadeError('FIREWALL_LIST_NOT_FOUND', `${listNoun(kind)} ${id}`);
      const naming = rulesNaming(await tx.firewall.listRules(), kind, id);
      if (naming.length > 0)
        throw new PalisadeError(
          'FIREWALL_LIST_IN_USE',
          `${listNoun(kind)} ${id} is named by firewall rule${naming.length === 1 ? '' : 's'} ${naming
            .slice(0, 10)
            .map((r) => `${r.id} ("${r.rule.name}")`)
            .join(', ')}${naming.length > 10 ? ` and ${naming.length - 10} more` : ''}`,
        );
      await tx.firewallLists.delete(id);
      await tx.audit.insert([listAudit('firewallList.delete', current, current, null, actor, this.now())]);
    });
  }

  private async requireFreeName(
    tx: StoreTransaction,
    kind: FirewallListKind,
    name: string,
    self: number | null,
  ): Promise<void> {
    const other = await tx.firewallLists.findIdByName(kind, name);
    if (other !== null && other !== self)
      throw new PalisadeError('FIREWALL_LIST_NAME_TAKEN', `"${name}" is ${listNoun(kind)} ${other}`);
  }
}
