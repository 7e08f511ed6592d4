export { AGENT_TLS_SESSION_OPTIONS } from './agent-endpoint/agent-endpoint-tls.js';
export type { ApiViews } from './api/api-views.js';
export { ERRORS, type ErrorCode, PalisadeError } from './errors.js';
export { type ManagerOptions, openInitializedStore, type RunningManager, startManager } from './manager.js';
export type { WebhookNotification } from './notifiers/notification.js';
export {
  CertificateAuthority,
  certificateFingerprint,
  createCertificateAuthority,
} from './pki/certificate-authority.js';
export { ConsoleAuthService } from './services/console-auth-service.js';
export { issueActivationToken } from './services/credentials.js';
export type { Store } from './store/store.js';
