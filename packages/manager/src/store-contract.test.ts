import { after } from 'node:test';
import { storeContract } from './testing/store-contract.js';
import { sqliteEngine } from './testing/store-engines.js';

const engine = sqliteEngine();
after(() => engine.close());
storeContract(engine);
