// @vipcontrol/bird: a client for BIRD's control socket (2.0.x, 2.1x, 3.x). Knows nothing of VIPs.
export { BirdClient, versionOfBanner } from './client.js';
export type { BirdClientOptions, BirdClientEvents, ConfigureOptions, ShowRoutesOptions } from './client.js';
export { BirdConnection } from './connection.js';
export type { ConnectionOptions, ConnectionEvents } from './connection.js';
export { CommandQueue, MAX_COMMAND_BYTES, validateCommand } from './command-queue.js';
export type { CommandTransport } from './command-queue.js';
export { ReplyDecoder } from './reply-decoder.js';
export type { DecoderHandlers, DecoderLimits } from './reply-decoder.js';
export { defaultReconnectStrategy } from './reconnect-strategy.js';
export type { ReconnectStrategy } from './reconnect-strategy.js';
export { BirdError, BirdReplyError, BirdConfigError, BirdTimeoutError, BirdConnectionError, BirdParseError, replyError } from './errors.js';
export { parseConfigureReply, parseReconfigurationState } from './parse/configure.js';
export { bgpSessionInfo, parseProtocols } from './parse/protocols.js';
export type { BgpSessionInfo } from './parse/protocols.js';
export { parseBfdSessions } from './parse/bfd.js';
export { parseRoutes } from './parse/routes.js';
export { parseStatus } from './parse/status.js';
export type * from './types.js';
