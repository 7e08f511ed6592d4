import { PalisadeError } from '../errors.js';
import type { ApiKeyRecord } from '../store/store.js';

/** A role as Deep Security's `/api/roles` shows it, and the access Palisade gives it. */
export interface RoleDefinition {
  readonly ID: number;
  /** Deep Security's built-in role of the same access: "Full Access", "Auditor". */
  readonly name: string;
  readonly description: string;
  /** Palisade's name for it (API keys, console users, `apikey create --role`). */
  readonly role: ApiKeyRecord['role'];
}

/**
 * The roles Palisade enforces, under the IDs and names of Deep Security's built-in roles with
 * the same access (1 Full Access, 2 Auditor), so scripts that look a role up by name, or send
 * `roleID: 1`, work unchanged. They are fixed: Palisade has no per-resource rights to edit.
 */
export const ROLES: readonly RoleDefinition[] = [
  { ID: 1, name: 'Full Access', description: 'Reads and changes everything.', role: 'full-access' },
  {
    ID: 2,
    name: 'Auditor',
    description: 'Reads everything (searches included); every change is refused with 403.',
    role: 'read-only',
  },
];

/** The role with that ID: ROLE_REFERENCE_UNKNOWN (400) when a body names it (`reference`), else ROLE_NOT_FOUND (404). */
export function roleById(id: number, reference: boolean): RoleDefinition {
  const role = ROLES.find((r) => r.ID === id);
  if (role) return role;
  const known = ROLES.map((r) => `${r.ID} (${r.name})`).join(', ');
  if (reference) throw new PalisadeError('ROLE_REFERENCE_UNKNOWN', `roleID: ${id}; the roles are ${known}`);
  throw new PalisadeError('ROLE_NOT_FOUND', `ID ${id}; the roles are ${known}`);
}

/** The role of a Palisade access level. */
export function roleOf(role: ApiKeyRecord['role']): RoleDefinition {
  return ROLES.find((r) => r.role === role) ?? (ROLES[0] as RoleDefinition);
}
