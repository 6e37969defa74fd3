/**
 * The one connection vipctl makes: HTTP/1.1 + JSON over the daemon's Unix socket (the same API
 * `curl --unix-socket` reaches). Transport failures become typed CLI errors phrased for the operator.
 */
import { request } from 'node:http';
import { stat, readFile } from 'node:fs/promises';
import { ACTOR_HEADER, encodeActorHeader } from '@vipcontrol/core';
import { ApiError, DaemonUnreachableError, SocketPermissionError } from './errors.js';

/** A decoded 2xx answer; `text` is the body exactly as sent, for `--json`. */
export interface ApiResponse {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

export interface ApiClientOptions {
  readonly socketPath: string;
  /** Sent as `X-Vipcontrol-Actor`; the daemon records it as who made the change. */
  readonly actor: string;
  /** Mutations answer only once BIRD has applied them, so this is generous. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Client for the local vipcontrol API. */
export class ApiClient {
  readonly #socketPath: string;
  readonly #actor: string;
  readonly #timeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.#socketPath = opts.socketPath;
    this.#actor = opts.actor;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get socketPath(): string {
    return this.#socketPath;
  }

  /** `GET path`. */
  get(path: string): Promise<ApiResponse> {
    return this.request('GET', path);
  }

  /**
   * Sends one request and resolves with a 2xx answer; rejects with ApiError (non-2xx, the API's
   * `error` text), DaemonUnreachableError or SocketPermissionError.
   */
  async request(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { status, text } = await this.#send(method, path, payload);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch (cause) {
      throw new ApiError(`vipcontrol answered ${status} with a body that is not JSON`, status, { cause });
    }
    if (status < 200 || status > 299) throw new ApiError(errorText(json, status), status, { saved: isSaved(json) });
    return { status, text, json };
  }

  #send(method: string, path: string, payload: Buffer | undefined): Promise<{ status: number; text: string }> {
    const headers: Record<string, string | number> = { [ACTOR_HEADER]: encodeActorHeader(this.#actor), Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.#socketPath, method, path, headers, timeout: this.#timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (cause) => reject(this.#unreachable(`connection to vipcontrol failed (${cause.message})`, cause)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('timeout', () => {
        req.destroy(this.#unreachable(`vipcontrol did not answer within ${this.#timeoutMs / 1000}s on ${this.#socketPath}`));
      });
      req.on('error', (cause: NodeJS.ErrnoException) => {
        if (cause instanceof DaemonUnreachableError) reject(cause);
        else this.#classify(cause).then(reject, reject);
      });
      req.end(payload);
    });
  }

  #unreachable(message: string, cause?: unknown): DaemonUnreachableError {
    return new DaemonUnreachableError(message, this.#socketPath, { cause });
  }

  /** Turns a socket error into the one line the operator needs. */
  async #classify(cause: NodeJS.ErrnoException): Promise<Error> {
    const path = this.#socketPath;
    switch (cause.code) {
      case 'ENOENT':
        return this.#unreachable(`vipcontrol is not running (no socket at ${path})`, cause);
      case 'ECONNREFUSED':
        return this.#unreachable(`vipcontrol is not running (nothing listening on ${path})`, cause);
      case 'EACCES':
      case 'EPERM':
        return new SocketPermissionError(await permissionHint(path), path, { cause });
      default:
        return this.#unreachable(`cannot reach vipcontrol on ${path}: ${cause.message}`, cause);
    }
  }
}

/** The API's `"saved": true`: the change is kept and retried (only on failed mutations). */
function isSaved(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'saved' in json && json.saved === true;
}

/** Picks the API's `{"error": "..."}`, falling back to the status code. */
function errorText(json: unknown, status: number): string {
  if (typeof json === 'object' && json !== null && 'error' in json && typeof json.error === 'string') {
    // A refused reload lists one "file:line:col: path: reason" per issue; the CLI prints one line.
    return json.error.split('\n').filter((l) => l.trim() !== '').join('; ');
  }
  return `vipcontrol answered HTTP ${status}`;
}

/** "permission denied on S (group vipcontrol, mode 0660): run as root or join group vipcontrol". */
async function permissionHint(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch {
    // The socket's directory itself is closed to us; nothing more specific to say.
    return `permission denied on ${path}: run as root or as a member of the socket's group`;
  }
  const group = (await groupName(st.gid)) ?? `gid ${st.gid}`;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  return `permission denied on ${path} (group ${group}, mode ${mode}): run as root or join group ${group}`;
}

/** Resolves a gid through /etc/group (node has no getgrgid); undefined when not listed. */
async function groupName(gid: number): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile('/etc/group', 'utf8');
  } catch {
    return undefined; // no group database (minimal container): the caller prints the numeric gid
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && Number(id) === gid) return name;
  }
  return undefined;
}
