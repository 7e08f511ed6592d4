import { managerNodesContract } from '../cluster/manager-nodes.contract.js';
import { ingestContract } from '../ingest.contract.js';
import { monitorContract } from '../monitor/monitor.contract.js';
import { configurationServiceContract } from '../services/configuration-service.contract.js';
import { kyselyStoreContract } from '../store/kysely-store.contract.js';
import { eventEpochsMigrationContract } from '../store/migrations/migration-0011-event-epochs.contract.js';
import { multiNodeContract } from '../store/multi-node.contract.js';
import { computerRepositoryContract } from '../store/repositories/computer-repository.contract.js';
import { dialTargetRepositoryContract } from '../store/repositories/dial-target-repository.contract.js';
import { eventRepositoryContract } from '../store/repositories/event-repository.contract.js';
import { retentionRepositoryContract } from '../store/repositories/retention-repository.contract.js';
import { storeCopyContract } from '../store/store-copy.contract.js';
import type { StoreEngine } from './store-engines.js';

/**
 * Every store test, once per engine: store-contract.test.ts runs them on SQLite and
 * store-contract.pg.test.ts on a PostgreSQL server it starts. A test added here runs on both.
 */
export function storeContract(engine: StoreEngine): void {
  kyselyStoreContract(engine);
  eventEpochsMigrationContract(engine);
  computerRepositoryContract(engine);
  dialTargetRepositoryContract(engine);
  multiNodeContract(engine);
  ingestContract(engine);
  configurationServiceContract(engine);
  monitorContract(engine);
  storeCopyContract(engine);
  managerNodesContract(engine);
  retentionRepositoryContract(engine);
  eventRepositoryContract(engine);
}
