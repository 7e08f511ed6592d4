export * from './canonical-json.js';
export * from './computer-status.js';
export * from './effective-settings.js';
export * from './heartbeat-timing.js';
export * from './security-configuration.js';
export * from './settings-catalog.js';
export * from './policy-tree.js';
export * from './setting-write.js';
