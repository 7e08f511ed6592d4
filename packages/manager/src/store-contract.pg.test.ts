import { after, describe } from 'node:test';
import { postgresSkipReason } from './store/postgres/postgres-test-server.js';
import { postgresEngine } from './store/testing/store-engines.js';
import { storeContract } from './store-contract.js';

/** The store contract on a real PostgreSQL server this suite starts (and stops); under CI it must run. */
const skip = postgresSkipReason();
const engine = postgresEngine();
after(() => engine.close());
if (skip) describe('store contract on PostgreSQL', { skip }, () => {});
else storeContract(engine);
