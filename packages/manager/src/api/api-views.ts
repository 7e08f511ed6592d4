import type { FirewallRule } from '@palisade/core';
import type { Static } from '@sinclair/typebox';

import type { ActionResult, CommunicationView } from './actions-routes.js';
import type { AdministratorView } from './administrator-routes.js';
import type { AgentUpgradeList, ComputerUpgradeResult, PolicyUpgradeResult } from './agent-upgrade-routes.js';
import type { AlertList, AlertView } from './alerts-routes.js';
import type { ApiKeyView, ApiKeyWithSecretView } from './api-key-routes.js';
import type { AuditEventView, AuditList } from './audit-routes.js';
import type { ComputerView } from './computer-view.js';
import type { ComputerList } from './computers-routes.js';
import type {
  ActivationTokenView,
  ActivationTokenWithSecretView,
  AgentDeploymentScriptView,
  AgentPackageView,
} from './deployment-routes.js';
import type { EventPage, EventView } from './events-routes.js';
import type { FirewallListView } from './firewall-list-routes.js';
import type { ComputerFirewallView, EffectiveView, PolicyFirewallView } from './firewall-routes.js';
import type { NotifierView } from './notifiers-routes.js';
import type { PolicyList } from './policies-routes.js';
import type { PolicyView } from './policy-view.js';
import type { RoleView } from './role-routes.js';
import type { ErrorBody, SettingValueView } from './schemas.js';
import type { SettingsCatalogView } from './settings-routes.js';
import type { TlsPolicyView, TlsPreflightView } from './tls-routes.js';
import type { VmStateView } from './vm-state-routes.js';

/**
 * The REST API's replies as TypeScript types, derived from the schemas that serialize them (so
 * they cannot drift from what is sent), for clients written in TypeScript such as the tests.
 * Views marked `additionalProperties` may carry members beyond these.
 */
export interface ApiViews {
  ActionResult: Static<typeof ActionResult>;
  ActivationToken: Static<typeof ActivationTokenView>;
  /** A new activation token with its secret: the reply of create, the only time `token` is shown. */
  ActivationTokenWithSecret: Static<typeof ActivationTokenWithSecretView>;
  /** A console user (`/api/administrators`); never its password hash. */
  Administrator: Static<typeof AdministratorView>;
  AgentDeploymentScript: Static<typeof AgentDeploymentScriptView>;
  AgentPackage: Static<typeof AgentPackageView>;
  AgentUpgradeList: Static<typeof AgentUpgradeList>;
  ComputerUpgradeResult: Static<typeof ComputerUpgradeResult>;
  PolicyUpgradeResult: Static<typeof PolicyUpgradeResult>;

  Alert: Static<typeof AlertView>;
  ApiKey: Static<typeof ApiKeyView>;
  /** Create and a new secret: the key with `secretKey`, shown that once. */
  ApiKeyWithSecret: Static<typeof ApiKeyWithSecretView>;
  AlertList: Static<typeof AlertList>;
  AuditEvent: Static<typeof AuditEventView>;
  AuditList: Static<typeof AuditList>;
  Communication: Static<typeof CommunicationView>;
  Computer: Static<typeof ComputerView>;
  ComputerFirewall: Static<typeof ComputerFirewallView>;
  ComputerList: Static<typeof ComputerList>;
  /** Each rule shows the rule's members (as `Rule` does) with where it comes from and its counters. */
  Effective: Omit<Static<typeof EffectiveView>, 'rules'> & {
    rules: Array<Static<typeof EffectiveView>['rules'][number] & Omit<FirewallRule, 'id'>>;
  };

  Error: Static<typeof ErrorBody>;
  Event: Static<typeof EventView>;
  /** An IP, MAC or port list. */
  FirewallList: Static<typeof FirewallListView>;
  EventPage: Static<typeof EventPage>;
  Notifier: Static<typeof NotifierView>;
  Policy: Static<typeof PolicyView>;
  PolicyFirewall: Static<typeof PolicyFirewallView>;
  PolicyList: Static<typeof PolicyList>;
  /** The rule schema is assembled member by member, so the type is the one the view is made from. */
  Role: Static<typeof RoleView>;
  Rule: { ID: number } & Omit<FirewallRule, 'id'>;
  RuleList: { firewallRules: ApiViews['Rule'][] };
  SettingsCatalog: Static<typeof SettingsCatalogView>;
  SettingValue: Static<typeof SettingValueView>;
  TlsPolicy: Static<typeof TlsPolicyView>;
  TlsPreflight: Static<typeof TlsPreflightView>;
  VmState: Static<typeof VmStateView>;
}
