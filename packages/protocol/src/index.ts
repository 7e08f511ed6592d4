export * from './communication.js';
export * from './install-layout.js';
export * from './messages.js';
export * from './validate.js';
export * from './wire-errors.js';
