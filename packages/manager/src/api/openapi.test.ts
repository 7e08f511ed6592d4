import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RouteOptions } from 'fastify';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import type { ApiViews } from './api-views.js';
import { openApiPath } from './openapi.js';

/** The parts of an OpenAPI 3.1 document this test reads. */
interface JsonSchema {
  required?: string[];
  properties?: Record<string, JsonSchema>;
}
interface Operation {
  operationId: string;
  summary?: string;
  security?: unknown[];
  parameters: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { description: string }> };
}

describe('the OpenAPI document matches the routes', () => {
  let f: ApiFixture;
  /** Every route as Fastify registered it, seen by a hook of the test's own. */
  const registered = new Set<string>();
  let doc: OpenApiDocument;
  /** One documented operation; fails naming it when it is not there. */
  const op = (path: string, method: string): Operation => {
    const o = doc.paths[path]?.[method];
    assert.ok(o, `${method} ${path} is documented`);
    return o;
  };

  before(async () => {
    f = await startApiFixture({
      beforeReady: (app) =>
        app.addHook('onRoute', (r: RouteOptions) => {
          for (const m of Array.isArray(r.method) ? r.method : [r.method])
            if (m !== 'HEAD') registered.add(`${m} ${openApiPath(r.url)}`);
        }),
    });
    const r = await f.request('GET', '/api/openapi.json', undefined, { key: null });
    assert.equal(r.status, 200, 'served without an API key');
    doc = r.json<OpenApiDocument>();
  });
  after(() => f.close());

  const documented = () =>
    new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
    );

  test('every registered /api route is documented, and every documented one is registered', () => {
    const api = new Set([...registered].filter((r) => r.split(' ')[1]!.startsWith('/api/')));
    // The routes this feature promises, so a hook that saw nothing cannot pass.
    for (const r of [
      'GET /api/policies',
      'POST /api/policies',
      'GET /api/policies/{id}',
      'POST /api/policies/{id}',
      'DELETE /api/policies/{id}',
      'GET /api/policies/{id}/settings/{name}',
      'POST /api/policies/{id}/settings/{name}',
      'DELETE /api/policies/{id}/settings/{name}',
      'GET /api/computers',
      'GET /api/computers/{id}',
      'POST /api/computers/{id}',
      'DELETE /api/computers/{id}',
      'GET /api/computers/{id}/settings/{name}',
      'POST /api/computers/{id}/settings/{name}',
      'DELETE /api/computers/{id}/settings/{name}',
      'GET /api/auditevents',
      'GET /api/settings',
      'GET /api/openapi.json',
    ]) {
      assert.ok(api.has(r), `registered: ${r}`);
    }
    assert.deepEqual([...documented()].sort(), [...api].sort());
    for (const r of documented()) {
      const [method, path] = r.split(' ') as [string, string];
      assert.ok(
        f.app.hasRoute({ method: method as 'GET', url: path.replace(/\{([^}]+)\}/g, ':$1') }),
        `Fastify routes ${r}`,
      );
    }
  });

  test('an OpenAPI 3.1 document: path parameters declared, bodies and responses from the route schemas', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.components.securitySchemes.apiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'api-secret-key',
      description: doc.components.securitySchemes.apiKey?.description,
    });
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        const declared = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
        assert.deepEqual(declared.sort(), [...inPath].sort(), `${method} ${path} declares its path parameters`);
        if (/^\/api\/(policies|computers|settings|auditevents|openapi)/.test(path))
          assert.ok(op.summary, `${method} ${path} has a summary`);
        assert.ok(op.responses.default, `${method} ${path} documents errors`);
        assert.ok(!ids.has(op.operationId), `unique operationId ${op.operationId}`);
        ids.add(op.operationId);
        if (method === 'post')
          assert.ok(op.requestBody || path === '/api/openapi.json', `${method} ${path} documents its body`);
      }
    }
    const create = op('/api/policies', 'post').requestBody?.content['application/json']?.schema;
    assert.deepEqual(create?.required, ['name']);
    assert.ok(create?.properties?.policySettings?.properties?.firewallSettingState);
    assert.equal(op('/api/policies/{id}', 'delete').responses['204']?.description, 'no content');
    assert.deepEqual(op('/api/openapi.json', 'get').security, []);
    assert.equal(op('/api/policies', 'get').security, undefined, 'the rest need the API key (document-level security)');
    const overrides = op('/api/computers/{id}', 'get').parameters.find((p) => p.name === 'overrides');
    assert.deepEqual({ in: overrides?.in, required: overrides?.required }, { in: 'query', required: false });
  });

  test('responses really have the documented shape (the serializer drops nothing the routes return)', async () => {
    const pid = (await f.request('POST', '/api/policies', { name: 'P' })).json<ApiViews['Policy']>().ID;
    const c = await f.addComputer({ hostName: 'h' });
    const policy = (await f.request('GET', `/api/policies/${pid}`)).json<ApiViews['Policy']>();
    const props = (path: string, method: string) =>
      Object.keys(op(path, method).responses['200']?.content?.['application/json']?.schema.properties ?? {}).sort();

    assert.deepEqual(Object.keys(policy).sort(), props('/api/policies/{id}', 'get'));
    const computer = (await f.request('GET', `/api/computers/${c.id}`)).json<ApiViews['Computer']>();
    // The computer view lets members through that its schema does not name (other features add
    // them); each should still be documented.
    assert.deepEqual(Object.keys(computer).sort(), props('/api/computers/{id}', 'get'));
  });
});
