/**
 * Reusable IP, MAC and port lists (Deep Security's `/api/iplists`, `/api/maclists`,
 * `/api/portlists`: `name`, `description`, `items`), and how rules refer to them: a rule with
 * `sourceIPType: ip-list` names `sourceIPListID`, and so on for MACs and ports.
 *
 * The agent receives the items of the lists its rules name beside the rules, by list ID
 * ({@link FirewallListContents}); the names stay on the manager. A list's items are therefore part
 * of every referring computer's configuration and fingerprint: changing a list changes them.
 */
import { normalizeMac, parseIpEntry, parsePortEntry, withoutComment } from './firewall-addresses.js';
import { FIREWALL_SIDES, type FirewallRule, MAX_FIREWALL_LIST_ENTRIES } from './firewall-rule.js';

export const FIREWALL_LIST_KINDS = ['ip', 'mac', 'port'] as const;
export type FirewallListKind = (typeof FIREWALL_LIST_KINDS)[number];

/** Items by list ID (decimal text, as JSON object keys are), per kind. Empty objects: no lists. */
export interface FirewallListContents {
  readonly ipLists: Readonly<Record<string, readonly string[]>>;
  readonly macLists: Readonly<Record<string, readonly string[]>>;
  readonly portLists: Readonly<Record<string, readonly string[]>>;
}

export const NO_FIREWALL_LISTS: FirewallListContents = Object.freeze({
  ipLists: Object.freeze({}),
  macLists: Object.freeze({}),
  portLists: Object.freeze({}),
});

const CONTENTS_KEY = { ip: 'ipLists', mac: 'macLists', port: 'portLists' } as const satisfies Record<
  FirewallListKind,
  keyof FirewallListContents
>;

/** The member of FirewallListContents for a kind (`ipLists`, …). */
export function listContentsKey(kind: FirewallListKind): keyof FirewallListContents {
  return CONTENTS_KEY[kind];
}

/** `IP list`, `MAC list`, `port list`: for messages. */
export function listNoun(kind: FirewallListKind): string {
  return kind === 'port' ? 'port list' : `${kind.toUpperCase()} list`;
}

/**
 * Problems of a list's items (`"items[2]: …"`); empty when every item parses. An item may carry a
 * `#` comment; a blank item or one that is only a comment is allowed and matches nothing, as in
 * Deep Security's list editor. At most {@link MAX_FIREWALL_LIST_ENTRIES} items.
 */
export function firewallListItemProblems(kind: FirewallListKind, items: readonly unknown[]): string[] {
  const out: string[] = [];
  if (items.length > MAX_FIREWALL_LIST_ENTRIES) out.push(`items: has more than ${MAX_FIREWALL_LIST_ENTRIES} entries`);
  items.forEach((item, i) => {
    if (typeof item !== 'string') {
      out.push(`items[${i}]: ${typeof item === 'number' ? String(item) : typeof item} is not text`);
      return;
    }
    if (withoutComment(item) === '') return;
    try {
      if (kind === 'ip') parseIpEntry(item);
      else if (kind === 'port') parsePortEntry(item);
      else if (normalizeMac(item) === null)
        throw new RangeError(`"${withoutComment(item)}" is not a MAC address (six hex pairs separated by : or -)`);
    } catch (e) {
      out.push(`items[${i}]: ${(e as Error).message}`);
    }
  });
  return out;
}

/** A list reference in a rule: which member, which kind, which list. */
export interface FirewallListReference {
  readonly member: string;
  readonly kind: FirewallListKind;
  readonly id: number;
}

/** The lists a rule names (`sourceIPListID`, …), in member order. */
export function firewallRuleListReferences(rule: FirewallRule): FirewallListReference[] {
  const out: FirewallListReference[] = [];
  const r = rule as unknown as Record<string, unknown>;
  for (const side of FIREWALL_SIDES) {
    for (const [kind, infix] of [
      ['ip', 'IP'],
      ['mac', 'MAC'],
      ['port', 'Port'],
    ] as const) {
      const id = r[`${side}${infix}ListID`];
      if (typeof id === 'number') out.push({ member: `${side}${infix}ListID`, kind, id });
    }
  }
  return out;
}

/**
 * The part of `all` the rules name (what a configuration carries), frozen.
 * @throws RangeError naming the rule and member when a named list is missing from `all`.
 */
export function listContentsFor(rules: readonly FirewallRule[], all: FirewallListContents): FirewallListContents {
  const picked: Record<keyof FirewallListContents, Record<string, readonly string[]>> = {
    ipLists: {},
    macLists: {},
    portLists: {},
  };
  for (const rule of rules) {
    for (const ref of firewallRuleListReferences(rule)) {
      const key = CONTENTS_KEY[ref.kind];
      const items = all[key][String(ref.id)];
      if (items === undefined)
        throw new RangeError(`rule ${rule.id}: ${ref.member} ${ref.id} names no ${listNoun(ref.kind)}`);
      picked[key][String(ref.id)] = Object.freeze([...items]);
    }
  }
  return Object.freeze({
    ipLists: Object.freeze(picked.ipLists),
    macLists: Object.freeze(picked.macLists),
    portLists: Object.freeze(picked.portLists),
  });
}

export type FirewallListContentsValidation =
  | { readonly ok: true; readonly lists: FirewallListContents }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Validates list contents as a configuration carries them (absent means no lists): every key a
 * list ID, every item parsable. Problems are prefixed `ipLists.5.items[2]: …`.
 */
export function validateFirewallListContents(input: unknown): FirewallListContentsValidation {
  if (input === undefined) return { ok: true, lists: NO_FIREWALL_LISTS };
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, problems: ['(lists): not an object'] };
  const problems: string[] = [];
  const out: Record<string, Record<string, readonly string[]>> = {};
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given))
    if (!Object.values(CONTENTS_KEY).includes(key as never)) problems.push(`${key}: is not a list kind`);
  for (const kind of FIREWALL_LIST_KINDS) {
    const key = CONTENTS_KEY[kind];
    const lists = given[key] ?? {};
    out[key] = {};
    if (typeof lists !== 'object' || lists === null || Array.isArray(lists)) {
      problems.push(`${key}: not an object`);
      continue;
    }
    for (const [id, items] of Object.entries(lists)) {
      if (!/^[1-9][0-9]{0,15}$/.test(id)) problems.push(`${key}.${id}: is not a list ID`);
      if (!Array.isArray(items)) {
        problems.push(`${key}.${id}: items are not a list`);
        continue;
      }
      for (const p of firewallListItemProblems(kind, items)) problems.push(`${key}.${id}.${p}`);
      out[key]![id] = Object.freeze([...(items as string[])]);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    lists: Object.freeze({
      ipLists: Object.freeze(out.ipLists!),
      macLists: Object.freeze(out.macLists!),
      portLists: Object.freeze(out.portLists!),
    }),
  };
}
