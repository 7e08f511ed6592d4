export { activate } from './activate.js';
export {
  AgentCommunication,
  type ListenerSettings,
  loadListenerSettings,
  saveListenerSettings,
} from './agent-communication.js';
export { AGENT_ERRORS, AgentError } from './agent-error.js';
export { AGENT_VERSION } from './agent-version.js';
export { main } from './cli.js';
export { type RunAgentOptions, type RunningAgent, runAgent } from './daemon.js';
export { heartbeat } from './heartbeat.js';
export { type AgentKeyType, generateKeyAndCsr } from './key-pair.js';
export { AgentListener, notTheManager } from './listener.js';
export { LISTENER_ERRORS, ListenerError, type ListenerErrorCode } from './listener-error.js';
export {
  type ConnectionOptions,
  fetchPinnedCa,
  isManagerBusy,
  ManagerConnection,
  normalizeFingerprint,
  type Reply,
  retryWhileBusy,
  type TlsIdentity,
} from './manager-client.js';
export { formatManagerUrl, type ManagerAddress, parseManagerUrl } from './manager-url.js';
export { type Reactivated, reactivateWithoutToken } from './reactivation.js';
export { buildReport } from './report-builder.js';
export { restartService, startService, stopService } from './service-control.js';
export { StateDir, type UpgradeRecord } from './state-dir.js';
export {
  currentVersionDir,
  installPackage,
  installRootOf,
  startUpgrade,
  switchCurrent,
  watchUpgrade,
} from './upgrade.js';
