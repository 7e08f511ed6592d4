export * from './communication.js';
export * from './install-layout.js';
export * from './lifecycle.js';
export * from './messages.js';
export * from './validate.js';
export * from './wire-errors.js';
