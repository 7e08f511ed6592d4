import type { FastifyInstance, RouteOptions } from 'fastify';

declare module 'fastify' {
  /** Documentation members a route's schema may carry; Fastify ignores them, the OpenAPI document uses them. */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
  }
  interface FastifyContextConfig {
    /** Served without an API key (documented with no security requirement). */
    public?: boolean;
    /** A POST that only reads (Deep Security's `…/search`): read-only API keys may call it. */
    readsOnly?: boolean;
    /** Changes only the signed-in console user's own account: read-only users may call it. */
    ownAccount?: boolean;
  }
}

/** One documented route, as registered. */
export interface DocumentedRoute {
  readonly method: string;
  /** OpenAPI form: `/api/policies/{id}`. */
  readonly path: string;
  readonly schema: Readonly<Record<string, unknown>>;
  readonly public: boolean;
}

const DOCUMENTED_PREFIX = '/api/';

/** `:id` → `{id}` (Fastify's path syntax to OpenAPI's). */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Drops TypeBox's symbol-keyed metadata and any functions: the document is plain JSON. */
function plain<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema)) as T;
}

type JsonSchemaObject = { properties?: Record<string, unknown>; required?: string[] };

function parameters(schema: unknown, where: 'path' | 'query'): unknown[] {
  const s = schema as JsonSchemaObject | undefined;
  if (!s?.properties) return [];
  return Object.entries(s.properties).map(([name, prop]) => {
    const p = plain(prop) as { description?: string };
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      ...(p.description ? { description: p.description } : {}),
      schema: p,
    };
  });
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((w) => w && w !== 'api')
    .map((w) => (w.startsWith('{') ? `by-${w.slice(1, -1)}` : w));
  return [method.toLowerCase(), ...words].join('-').replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Builds the OpenAPI 3.1 document from the routes as Fastify registers them: an `onRoute` hook
 * records every `/api/…` route with its TypeBox schemas (params, querystring, body, response)
 * and its documentation members (summary, description, tags). Nothing is written by hand, so a
 * route cannot exist undocumented nor a documented one be missing. Install before any route is
 * registered; HEAD routes (Fastify adds one per GET) are left out, as OpenAPI implies them.
 */
export class OpenApiCollector {
  readonly #routes: DocumentedRoute[] = [];
  #document: unknown = null;

  install(app: FastifyInstance): void {
    app.addHook('onRoute', (r: RouteOptions) => {
      if (!r.url.startsWith(DOCUMENTED_PREFIX)) return;
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const method of methods) {
        if (method === 'HEAD') continue;
        this.#routes.push({
          method,
          path: openApiPath(r.url),
          schema: (r.schema ?? {}) as Record<string, unknown>,
          public: r.config?.public === true,
        });
        this.#document = null;
      }
    });
  }

  routes(): readonly DocumentedRoute[] {
    return this.#routes;
  }

  /** The document; built once after the routes are in, rebuilt if a route is added later. */
  document(info: { title: string; version: string; description?: string }): unknown {
    if (this.#document) return this.#document;
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.#routes) {
      const s = r.schema as {
        summary?: string;
        description?: string;
        tags?: readonly string[];
        params?: unknown;
        querystring?: unknown;
        body?: unknown;
        response?: unknown;
      };
      const responses: Record<string, unknown> = {};
      for (const [status, schema] of Object.entries((s.response ?? {}) as Record<string, unknown>)) {
        const body = plain(schema) as { type?: string; description?: string };
        responses[status] =
          body.type === 'null'
            ? { description: body.description ?? 'no content' }
            : { description: body.description ?? 'success', content: { 'application/json': { schema: body } } };
      }
      if (Object.keys(responses).length === 0) responses['200'] = { description: 'success' };
      responses.default = {
        description: 'an error: 4xx with a code and a reason (docs/errors.md)',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
      const op: Record<string, unknown> = {
        operationId: operationId(r.method, r.path),
        ...(s.summary ? { summary: s.summary } : {}),
        ...(s.description ? { description: s.description } : {}),
        ...(s.tags ? { tags: [...s.tags] } : {}),
        parameters: [...parameters(s.params, 'path'), ...parameters(s.querystring, 'query')],
        ...(s.body
          ? { requestBody: { required: true, content: { 'application/json': { schema: plain(s.body) } } } }
          : {}),
        responses,
        ...(r.public ? { security: [] } : {}),
      };
      paths[r.path] ??= {};
      paths[r.path]![r.method.toLowerCase()] = op;
    }
    this.#document = {
      openapi: '3.1.0',
      info,
      components: {
        securitySchemes: {
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'api-secret-key',
            description: 'an API key: printed on first start, or made with `palisade-manager apikey create`',
          },
        },
        schemas: {
          Error: {
            type: 'object',
            required: ['message', 'error'],
            properties: {
              message: { type: 'string', description: "the reason, for people (Deep Security's error member)" },
              error: {
                type: 'object',
                required: ['code', 'message'],
                properties: { code: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
      },
      security: [{ apiKey: [] }],
      paths,
    };
    return this.#document;
  }
}
