// vipcontrol daemon, as a library: the pieces other components (fleet agent, maintenance, tests) use.
export { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
export { VipController, OperationError, type Controller, type ControllerOptions } from './controller.js';
export { ApiRoutes, apiRoutes, type RouteContext, type RouteHandler, type HttpMethod } from './api-routes.js';
export { ApplyError, type ApplyErrorKind, type ApplyPhase } from './announcer.js';
export { CoalescingQueue, QueueStoppedError } from './apply-queue.js';
export { createLogger, type Logger } from './logger.js';
export type * from './daemon-types.js';
