export { startManager, openInitializedStore, type ManagerOptions, type RunningManager } from './manager.js';
export { ERRORS, PalisadeError, type ErrorCode } from './errors.js';
export type { Store } from './store/store.js';
export { CertificateAuthority, createCertificateAuthority, certificateFingerprint } from './pki/certificate-authority.js';
