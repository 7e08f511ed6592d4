/** Deep Security's built-in roles under Palisade's two levels (GET /api/roles): ID, name, what it may do. */
export const ROLES = [
  [1, 'Full Access', 'Reads and changes everything'],
  [2, 'Auditor', 'Read only: every change is refused'],
] as const;

/** A role's name by its ID; `Role N` for one the console does not know. */
export const roleName = (id: number) => ROLES.find(([r]) => r === id)?.[1] ?? `Role ${id}`;
