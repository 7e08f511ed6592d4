export { activate } from './activate.js';
export { AgentError, AGENT_ERRORS } from './agent-error.js';
export { runAgent } from './daemon.js';
export { heartbeat } from './heartbeat.js';
export { StateDir } from './state-dir.js';
export { main } from './cli.js';
export { generateKeyAndCsr } from './key-pair.js';
