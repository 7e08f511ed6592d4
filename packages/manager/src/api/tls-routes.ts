import { TLS_POLICY_NAMES, TLS_PROTOCOLS, tlsPolicy } from '@palisade/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { mainEndpointPolicy } from '../agent-endpoint/agent-endpoint-tls.js';
import type { TlsPolicyService } from '../services/tls-policy-service.js';
import { actorOf } from './auth-actor.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
/** A route schema with the OpenAPI members the document generator reads. */
const documented = (s: FastifySchema & { summary: string; tags: readonly string[] }): FastifySchema => s;
// Names are checked in the handler, not by an enum in the schema, so that a wrong one gets
// TLS_POLICY_UNKNOWN listing the valid names rather than a bare schema error.
const PolicyName = Type.String({
  maxLength: 64,
  description: `TLS policy: one of ${TLS_POLICY_NAMES.join(', ')}`,
  examples: [...TLS_POLICY_NAMES],
});
const Protocol = Type.String({ description: `one of ${TLS_PROTOCOLS.join(', ')}` });
const Suite = Type.String({ description: 'IANA cipher-suite name, e.g. TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' });

export const TlsPolicyBody = Type.Object(
  { value: PolicyName },
  { additionalProperties: false, description: 'the new policy, as a Deep Security-style setting value' },
);

export const TlsPolicyView = Type.Object(
  {
    value: Type.String({ description: 'the policy in force on this node' }),
    source: Type.String({
      description:
        'stored (system setting), start-option (--tls-policy, seeded into the setting), default (nothing stored)',
    }),
    summary: Type.String(),
    warning: Nullable(Type.String({ description: 'logged at start and on change; null for modern' })),
    minVersion: Protocol,
    maxVersion: Protocol,
    tls13Suites: Type.Array(Suite),
    tls12Suites: Type.Array(Suite, { description: 'TLS 1.0–1.2 suites, in the order the manager prefers them' }),
    agentEndpointPolicy: Type.String({
      description: 'policy of the 4120 context: legacy runs 4120 as compatible and TLS 1.0/1.1 on its own listener',
    }),
    legacyListener: Type.Object({
      open: Type.Boolean(),
      port: Type.Union([Type.Integer(), Type.Null()], { description: 'bound port while open' }),
      configuredPort: Type.Integer({ description: '--legacy-tls-port (default 4122)' }),
    }),
    validValues: Type.Array(Type.String()),
  },
  { description: 'the TLS policy of the agent endpoint on this node' },
);
export type TlsPolicyView = Static<typeof TlsPolicyView>;

export const TlsPreflightQuery = Type.Object(
  {
    policy: Type.Optional(
      Type.String({
        maxLength: 64,
        description: `policy to check: one of ${TLS_POLICY_NAMES.join(', ')}; default the one in force`,
      }),
    ),
  },
  { additionalProperties: false },
);

const PreflightRowSchema = Type.Object({
  rowId: Type.String(),
  label: Type.String(),
  product: Type.String({ description: 'deep-security or palisade' }),
  connects: Type.Boolean(),
  outcome: Type.String({ description: 'connects, protocol-mismatch or no-shared-suite' }),
  protocol: Nullable(Protocol),
  suite: Nullable(Suite),
  opensslSuite: Nullable(Type.String()),
  detail: Type.String(),
  unavailableSuites: Type.Array(Suite, { description: "suites of the row Node's OpenSSL can never negotiate (3DES)" }),
  listener: Nullable(
    Type.String({ description: 'agent-endpoint (4120, which serves every admitted version); null when cut off' }),
  ),
  tlsContext: Nullable(
    Type.String({
      description: 'main, or legacy (TLS 1.0/1.1 under the legacy policy, handed over on 4120); null when cut off',
    }),
  ),
});

export const TlsPreflightView = Type.Object(
  {
    policy: Type.String(),
    summary: Type.String(),
    warning: Nullable(Type.String()),
    agentEndpointPolicy: Type.String(),
    legacyListener: Type.Boolean({
      description: 'whether the policy runs the TLS 1.0/1.1 context (on 4120, and its alias port)',
    }),
    rows: Type.Array(PreflightRowSchema, { description: 'every row of the cipher-suite table, in its order' }),
    computers: Type.Object({
      total: Type.Integer(),
      counts: Type.Object({ connects: Type.Integer(), cutOff: Type.Integer(), unknown: Type.Integer() }),
      notes: Type.Array(Type.String()),
      byAgentVersion: Type.Array(
        Type.Object({
          agentVersion: Type.String(),
          verdict: Type.String({ description: 'connects, cut-off or unknown (never assumed to connect)' }),
          count: Type.Integer(),
          rowId: Nullable(Type.String()),
          candidateRowIds: Type.Array(Type.String()),
          protocol: Nullable(Protocol),
          suite: Nullable(Suite),
          reason: Type.String(),
          computers: Type.Array(Type.Object({ id: Type.Integer(), hostName: Type.String() })),
        }),
      ),
    }),
  },
  {
    description:
      'what a TLS policy admits: each agent version of the cipher-suite table, then enrolled computers by agent version',
  },
);

/**
 * The agent endpoint's TLS policy as a system setting, and the preflight:
 * `GET /api/tls/policy`, `POST /api/tls/policy {"value": NAME}` (applied to the running
 * listeners at once, then stored), `GET /api/tls/preflight?policy=NAME`, through
 * {@link TlsPolicyService}.
 */
export function tlsRoutes(app: FastifyInstance, tls: TlsPolicyService): void {
  const view = async (): Promise<TlsPolicyView> => {
    const { name, source } = await tls.current();
    const p = tlsPolicy(name);
    const legacy = tls.legacyListener();
    return {
      value: name,
      source,
      summary: p.summary,
      warning: p.warning,
      minVersion: p.minVersion,
      maxVersion: p.maxVersion,
      tls13Suites: [...p.tls13Suites],
      tls12Suites: [...p.tls12Suites],
      agentEndpointPolicy: mainEndpointPolicy(name),
      legacyListener: { open: legacy.port !== null, port: legacy.port, configuredPort: legacy.configuredPort },
      validValues: [...TLS_POLICY_NAMES],
    };
  };

  app.get(
    '/api/tls/policy',
    {
      schema: documented({
        summary: 'The TLS policy of the agent endpoint (4120) on this node',
        tags: ['TLS'],
        response: { 200: TlsPolicyView },
      }),
    },
    view,
  );

  app.post<{ Body: Static<typeof TlsPolicyBody> }>(
    '/api/tls/policy',
    {
      schema: documented({
        summary: 'Change the TLS policy of the agent endpoint: applied to new handshakes at once, then stored',
        tags: ['TLS'],
        body: TlsPolicyBody,
        response: { 200: TlsPolicyView },
      }),
    },
    async (req) => {
      const actor = actorOf(req);
      const { appliedNow } = await tls.change(req.body.value, actor);
      if (!appliedNow)
        req.log.info(
          { tlsPolicy: req.body.value, actor },
          'TLS policy stored; it applies when a manager starts or re-reads it',
        );
      return view();
    },
  );

  app.get<{ Querystring: Static<typeof TlsPreflightQuery> }>(
    '/api/tls/preflight',
    {
      schema: documented({
        summary:
          'Which agent versions and enrolled computers a TLS policy admits or cuts off, and what each negotiates',
        tags: ['TLS'],
        querystring: TlsPreflightQuery,
        response: { 200: TlsPreflightView },
      }),
    },
    async (req) => tls.preflight(req.query.policy),
  );
}
