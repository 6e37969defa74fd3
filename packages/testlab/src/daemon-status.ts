import type { DaemonStatus } from '@vipcontrol/core';
import { unixHttpRequest } from './unix-http.js';

/** `GET /v1/status` of the vipcontrol API at `socket`; rejects, with the reply's start, unless it answers 200. */
export async function daemonStatus(socket: string, opts: { timeoutMs?: number } = {}): Promise<DaemonStatus> {
  const res = await unixHttpRequest(socket, { path: '/v1/status', ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) });
  if (res.status !== 200) throw new Error(`GET /v1/status on ${socket}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return res.json as DaemonStatus;
}
