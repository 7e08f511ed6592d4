import type { MigrationProvider } from 'kysely';
import { m0001Initial } from './migration-0001-initial.js';
import { m0003Monitoring } from './migration-0003-monitoring.js';
import { m0004Dialer } from './migration-0004-dialer.js';
import { m0005Firewall } from './migration-0005-firewall.js';
import { m0006FirewallRuleModel } from './migration-0006-firewall-rule-model.js';
import { m0007Console } from './migration-0007-console.js';
import { m0008AgentLifecycle } from './migration-0008-agent-lifecycle.js';
import { m0009Versions } from './migration-0009-versions.js';
import { m0010FirewallLists } from './migration-0010-firewall-lists.js';
import { m0011EventEpochs } from './migration-0011-event-epochs.js';
import { m0012TlsCertificateType } from './migration-0012-tls-certificate-type.js';
import { m0013ApiKeys } from './migration-0013-api-keys.js';
import { m0014ManagerNodes } from './migration-0014-manager-nodes.js';
import { m0015OfflineFromActivation } from './migration-0015-offline-from-activation.js';
import { m0016RetentionIndexes } from './migration-0016-retention-indexes.js';
import { m0017AgentUptime } from './migration-0017-agent-uptime.js';
import { m0018ActiveAlertsIndex } from './migration-0018-active-alerts-index.js';
import { m0019FeedPositions } from './migration-0019-feed-positions.js';
import { m0020AgentEventIdentity } from './migration-0020-agent-event-identity.js';
import { m0021UpgradeOrderSweep } from './migration-0021-upgrade-order-sweep.js';
import type { MigrationDialect } from './migration-dialect.js';

export type { MigrationDialect } from './migration-dialect.js';

/**
 * One migration set for every dialect: only portable column types (integer, bigint, text).
 * New migrations are appended; a shipped one is never edited.
 */
export function migrationProvider(dialect: MigrationDialect): MigrationProvider {
  return {
    getMigrations: async () => ({
      '0001_initial': m0001Initial(dialect),
      '0003_monitoring': m0003Monitoring(dialect),
      '0004_dialer': m0004Dialer(dialect),
      '0005_firewall': m0005Firewall(dialect),
      '0006_firewall_rule_model': m0006FirewallRuleModel(),
      '0007_console': m0007Console(dialect),
      '0008_agent_lifecycle': m0008AgentLifecycle(dialect),
      '0009_versions': m0009Versions(dialect),
      '0010_firewall_lists': m0010FirewallLists(dialect),
      '0011_event_epochs': m0011EventEpochs(dialect),
      '0012_tls_certificate_type': m0012TlsCertificateType(dialect),
      '0013_api_keys': m0013ApiKeys(),
      '0014_manager_nodes': m0014ManagerNodes(dialect),
      '0015_offline_from_activation': m0015OfflineFromActivation(),
      '0016_retention_indexes': m0016RetentionIndexes(),
      '0017_agent_uptime': m0017AgentUptime(),
      '0018_active_alerts_index': m0018ActiveAlertsIndex(),
      '0019_feed_positions': m0019FeedPositions(dialect),
      '0020_agent_event_identity': m0020AgentEventIdentity(),
      '0021_upgrade_order_sweep': m0021UpgradeOrderSweep(),
    }),
  };
}
