/**
 * Decides what happens after a failed connection attempt or a dropped connection (node-redis style):
 * `false` stops reconnecting, an `Error` stops with that error, a number is the delay in ms before the
 * next attempt. `retries` counts the attempts that already failed since the connection was last ready
 * (0 on the first failure); `cause` is why the last one failed.
 */
export type ReconnectStrategy = (retries: number, cause: Error) => false | Error | number;

/** Default: exponential backoff 50 ms, 100 ms, 200 ms … capped at 5 s, forever (BIRD may be restarted by systemd at any time). */
export const defaultReconnectStrategy: ReconnectStrategy = (retries) => Math.min(50 * 2 ** Math.min(retries, 10), 5000);
