import type { FieldValues, Path, UseFormReturn } from 'react-hook-form';
import { ApiError } from '../api';

/**
 * Puts the manager's refusal beside the field it concerns (its reason word for word, tied to the
 * field for screen readers by <Field>), or at the form's root when `fieldOf` names none.
 */
export function showApiError<T extends FieldValues>(
  form: UseFormReturn<T>,
  e: unknown,
  fieldOf: (code: string, message: string) => Path<T> | undefined,
): void {
  const text = e instanceof ApiError ? e.message : String((e as Error)?.message ?? e);
  const field = e instanceof ApiError ? fieldOf(e.code, e.message) : undefined;
  if (field) form.setError(field, { type: 'server', message: text }, { shouldFocus: true });
  else form.setError('root', { type: 'server', message: text });
}

/**
 * The form field a manager refusal names: after the code's sentence and a colon, schema refusals
 * say `body.<member> …`, the routes' own checks `<member>: …` (docs/errors.md). `fields` maps request members to form fields.
 */
export function memberNamed<T extends FieldValues>(
  fields: Record<string, Path<T>>,
): (code: string, message: string) => Path<T> | undefined {
  return (_code, message) => {
    for (const [member, field] of Object.entries(fields))
      if (new RegExp(`(^|: )(body\\.)?${member}\\b`).test(message)) return field;
    return undefined;
  };
}
