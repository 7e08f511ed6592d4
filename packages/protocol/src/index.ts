export * from './communication.js';
export * from './messages.js';
export * from './validate.js';
