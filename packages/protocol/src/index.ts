export * from './messages.js';
export * from './communication.js';
export * from './validate.js';
