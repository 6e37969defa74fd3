/**
 * The local API's route table. Routes are data (method, path pattern, handler); the daemon builds one
 * table (`apiRoutes()`), hands it to its API server, and other components add theirs to it — the
 * maintenance scheduler's skip/end, for instance — without touching the server. No module-global
 * state: two daemons in one process (tests) each serve their own routes.
 */
import {
  parseDrainBody,
  parseReasonBody,
  parseSetMedBody,
  type Actor,
} from '@vipcontrol/core';
import type { Controller } from './controller.js';
import { OperationError } from './errors.js';

/** What a handler gets. `body` is the decoded JSON, or undefined for an empty body. */
export interface RouteContext {
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly actor: Actor;
  readonly controller: Controller;
  readonly query: URLSearchParams;
}

/** Returns the JSON answered with 200; throws OperationError (or anything: 500). */
export type RouteHandler = (ctx: RouteContext) => unknown;

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface Route {
  readonly method: HttpMethod;
  readonly pattern: RegExp;
  readonly handler: RouteHandler;
}

/**
 * Path patterns: `/v1/vips/:prefix/med` style. A `:name` segment matches one path segment, which the
 * server URL-decodes (`198.51.100.10%2F32`). `:prefix` also accepts an unencoded `address/len`, since
 * operators type `curl …/v1/vips/198.51.100.10/32/med` too.
 */
function compile(pattern: string): RegExp {
  const source = pattern
    .split('/')
    .map((seg) => {
      if (seg === ':prefix') return '(?<prefix>[^/]+(?:/\\d{1,3})?)';
      if (seg.startsWith(':')) return `(?<${seg.slice(1)}>[^/]+)`;
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/** Routes an API server serves. */
export class ApiRoutes {
  readonly #routes: Route[] = [];

  /** Adds a route; returns a function that removes it. */
  add(method: HttpMethod, pattern: string, handler: RouteHandler): () => void {
    const route: Route = { method, pattern: compile(pattern), handler };
    this.#routes.push(route);
    return () => {
      const i = this.#routes.indexOf(route);
      if (i >= 0) this.#routes.splice(i, 1);
    };
  }

  /** Finds the route for a request: a handler with its params, 405 when only the method is wrong, 404 otherwise. */
  match(method: string, path: string): { handler: RouteHandler; params: Record<string, string> } | { status: 404 | 405; allow?: string[] } {
    const allow: string[] = [];
    for (const route of this.#routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        allow.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeParam(v);
      return { handler: route.handler, params };
    }
    return allow.length > 0 ? { status: 405, allow } : { status: 404 };
  }
}

/** Runs one of core's body validators; its RequestError becomes a 400. */
function body<T>(parse: (b: unknown) => T, raw: unknown): T {
  try {
    return parse(raw);
  } catch (cause) {
    throw new OperationError(400, (cause as Error).message, { cause });
  }
}

/** A route that takes no body refuses one, so a typo'd call cannot look like it did something. */
export function noBody(raw: unknown): void {
  if (raw !== undefined && !(typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.keys(raw).length === 0)) {
    throw new OperationError(400, 'this request takes no body');
  }
}

const BUILTIN: readonly [HttpMethod, string, RouteHandler][] = [
    ['GET', '/v1/status', ({ controller }) => controller.status()],
    ['PUT', '/v1/vips/:prefix/med', ({ controller, params, body: b, actor }) => controller.setMed(params.prefix!, body(parseSetMedBody, b), actor)],
    [
      'DELETE',
      '/v1/vips/:prefix/med',
      ({ controller, params, body: b, actor }) => {
        noBody(b);
        return controller.resetMed(params.prefix!, actor);
      },
    ],
    [
      'POST',
      '/v1/vips/:prefix/withdraw',
      ({ controller, params, body: b, actor }) => controller.withdraw(params.prefix!, body(parseReasonBody, b), actor),
    ],
    [
      'POST',
      '/v1/vips/:prefix/announce',
      ({ controller, params, body: b, actor }) => {
        noBody(b);
        return controller.announce(params.prefix!, actor);
      },
    ],
    ['POST', '/v1/drain', ({ controller, body: b, actor }) => controller.drain(body(parseDrainBody, b), actor)],
    [
      'POST',
      '/v1/undrain',
      ({ controller, body: b, actor }) => {
        noBody(b);
        return controller.undrain(actor);
      },
    ],
    [
      'POST',
      '/v1/reload',
      ({ controller, body: b, actor }) => {
        noBody(b);
        return controller.reload(actor);
      },
    ],
    [
      'POST',
      '/v1/health/report',
      // The registry parses the body itself: it counts refused reports and resolves VIP lists by digest.
      ({ controller, body: b }) => controller.reportHealth(b),
    ],
];

/** A table holding the built-in routes (status, VIP operations, drain, reload, health reports). */
export function apiRoutes(): ApiRoutes {
  const routes = new ApiRoutes();
  for (const [method, pattern, handler] of BUILTIN) routes.add(method, pattern, handler);
  return routes;
}

function decodeParam(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch (cause) {
    throw new OperationError(400, 'malformed URL encoding in path', { cause });
  }
}
