export * from './errors.js';
export * from './redis-options.js';
export * from './fleet-store.js';
export * from './node-client.js';
