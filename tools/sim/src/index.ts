export { main } from './cli.js';
export { type FleetResult, formatResult } from './fleet.js';
export { type FleetInfo, Identities, type SimIdentity } from './identities.js';
export { errorKind, SimAgent } from './sim-agent.js';
export { checkTarget, isAllowedTarget } from './target-guard.js';
