import { Type } from '@sinclair/typebox';
import type { PolicyDetail } from '../services/policy-service.js';
import { Nullable, SettingsView } from './schemas.js';
import { settingsView } from './settings-view.js';

/** A policy as the REST API shows it, in Deep Security's shape. */
export const PolicyView = Type.Object({
  ID: Type.Integer(),
  parentID: Nullable(Type.Integer({ description: 'null only for the Base Policy' })),
  name: Type.String(),
  description: Type.String(),
  policySettings: SettingsView,
});

export function policyView(d: PolicyDetail, overridesOnly: boolean) {
  return {
    ID: d.record.id,
    parentID: d.record.parentId,
    name: d.record.name,
    description: d.record.description,
    policySettings: settingsView(d, { overridesOnly, inheritsNothing: d.isBase }),
  };
}
