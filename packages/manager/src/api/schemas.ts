import { SETTINGS_CATALOG, type SettingName } from '@palisade/core';
import { type TSchema, Type } from '@sinclair/typebox';
import { type ErrorCode, PalisadeError } from '../errors.js';

/**
 * Schemas the REST routes share. Requests are validated against them (strictly: no coercion,
 * unknown members refused) and 2xx responses serialized by them; the OpenAPI document is
 * generated from the same objects, so the document cannot drift from what is enforced.
 */

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Deep Security IDs are positive integers; in a path they arrive as digits. */
export const IdParams = Type.Object(
  { id: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'numeric ID' }) },
  { additionalProperties: false },
);

export const SettingParams = Type.Object(
  {
    id: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'numeric ID' }),
    name: Type.String({
      maxLength: 128,
      description: 'setting name as in GET /api/settings, e.g. firewallSettingState',
    }),
  },
  { additionalProperties: false },
);

export const OverridesQuery = Type.Object(
  {
    overrides: Type.Optional(
      Type.Union([Type.Literal('true'), Type.Literal('false')], {
        description:
          'true: only values set on this object itself (the rest {"value": null}); false (default): effective values with their source',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SETTING_SOURCE_DESCRIPTION =
  "where the effective value comes from: computer (its own override), policy:<ID> (that policy's override), base (the Base Policy), fixed (read-only setting), platform (macOS is always agent-initiated)";

/**
 * A setting as read: `{"value": "…"}` as in Deep Security, plus `source` on effective reads.
 * With `?overrides=true` `value` is null where the object inherits, and `source` is absent.
 */
export const SettingValueView = Type.Object({
  value: Nullable(Type.String()),
  source: Type.Optional(Type.String({ description: SETTING_SOURCE_DESCRIPTION })),
});

/** A setting as written: a string overrides, null returns to Inherited (as DELETE does). */
export const SettingValueWrite = Type.Object(
  {
    value: Nullable(Type.String({ maxLength: 1024, description: 'the value; null returns the setting to Inherited' })),
  },
  { additionalProperties: false },
);

/** Every catalog setting by name, so the document lists them; unknown names are refused. */
function byName<T extends TSchema>(item: T): Record<SettingName, T> {
  return Object.fromEntries(SETTINGS_CATALOG.map((s) => [s.name, item])) as Record<SettingName, T>;
}

export const SettingsView = Type.Object(byName(SettingValueView), {
  additionalProperties: false,
  description: 'every setting by name',
});
export const SettingsWrite = Type.Object(byName(Type.Optional(SettingValueWrite)), {
  additionalProperties: false,
  description: 'settings to change by name; absent ones stay as they are',
});

export const ErrorBody = Type.Object({
  message: Type.String({ description: "what was wrong, for people (Deep Security's error member)" }),
  error: Type.Object({
    code: Type.String({ description: 'stable code, listed in docs/errors.md' }),
    message: Type.String({ description: 'what was wrong, for people' }),
  }),
});

export const EmptyReply = Type.Null({ description: 'no content' });

/**
 * A write body without its read-only `ID`: a body echoed from a GET carries it, and is accepted —
 * on modify only when it is the object being written (another ID is most likely the wrong one).
 */
export function withoutReadOnlyId<T extends { ID?: number | undefined }>(
  body: T,
  id: number | undefined,
  code: ErrorCode,
  noun: string,
): Omit<T, 'ID'> {
  const { ID, ...rest } = body;
  if (id !== undefined && ID !== undefined && ID !== id)
    throw new PalisadeError(code, `ID: ${ID} is not the ${noun} being modified (${id}); ID is read-only`);
  return rest;
}
