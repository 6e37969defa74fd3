// Library surface of vipctl, for the fleet commands and the tests.
export { run, createProgram, type NounModule } from './program.js';
export { CliContext, DEFAULT_SOCKET, actorName, type CliIo, type GlobalOptions } from './context.js';
export { ApiClient, type ApiResponse, type ApiClientOptions } from './api-client.js';
export * from './errors.js';
export { formatStatus, formatResult, formatMedBreakdown } from './status-format.js';
