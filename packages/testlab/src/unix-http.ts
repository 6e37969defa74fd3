import { request } from 'node:http';

export interface UnixHttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Raw body text. */
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export interface UnixHttpRequest {
  method?: string;
  path: string;
  /** Sent as JSON unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One HTTP/1.1 request over a Unix socket (the vipcontrol API), the way `curl --unix-socket` does it. */
export function unixHttpRequest(socketPath: string, req: UnixHttpRequest): Promise<UnixHttpResponse> {
  // A Buffer, as vipctl sends it: with a string body, Node writes the header block in the body's
  // encoding (UTF-8) instead of byte per character, and header values arrive re-encoded.
  const text = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  const payload = text === undefined ? undefined : Buffer.from(text, 'utf8');
  const headers: Record<string, string> = { ...req.headers };
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const r = request(
      { socketPath, path: req.path, method: req.method ?? 'GET', headers, timeout: req.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined; // not JSON: callers read `text`
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    r.on('timeout', () => r.destroy(new Error(`HTTP ${req.method ?? 'GET'} ${req.path} on ${socketPath}: timed out`)));
    r.on('error', reject);
    r.end(payload);
  });
}
