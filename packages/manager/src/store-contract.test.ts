import { after } from 'node:test';
import { sqliteEngine } from './store/testing/store-engines.js';
import { storeContract } from './store-contract.js';

const engine = sqliteEngine();
after(() => engine.close());
storeContract(engine);
