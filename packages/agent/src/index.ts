export { activate } from './activate.js';
export {
  AgentCommunication,
  type ListenerSettings,
  loadListenerSettings,
  saveListenerSettings,
} from './agent-communication.js';
export { AGENT_ERRORS, AgentError } from './agent-error.js';
export { main } from './cli.js';
export { type RunAgentOptions, type RunningAgent, runAgent } from './daemon.js';
export { heartbeat } from './heartbeat.js';
export { generateKeyAndCsr } from './key-pair.js';
export { AgentListener, LISTENER_ERRORS, notTheManager } from './listener.js';
export { buildReport } from './report-builder.js';
export { StateDir } from './state-dir.js';
