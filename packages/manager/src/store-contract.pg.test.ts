import { after, describe } from 'node:test';
import { postgresSkipReason } from './testing/postgres-test-server.js';
import { storeContract } from './testing/store-contract.js';
import { postgresEngine } from './testing/store-engines.js';

/** The store contract on a real PostgreSQL server this suite starts (and stops); under CI it must run. */
const skip = postgresSkipReason();
const engine = postgresEngine();
after(() => engine.close());
if (skip) describe('store contract on PostgreSQL', { skip }, () => {});
else storeContract(engine);
