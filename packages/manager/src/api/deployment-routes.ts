import { createReadStream } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { CertificateAuthority } from '../pki/certificate-authority.js';
import type { AgentPackages } from '../services/agent-packages.js';
import { issueActivationToken, revokeActivationToken, tokenStatus } from '../services/credentials.js';
import { createDeploymentScript, type ManagerAddress } from '../services/deployment-service.js';
import type { ActivationTokenRecord, Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { EmptyReply, IdParams, Nullable } from './schemas.js';

export interface DeploymentRouteDeps {
  store: Store;
  ca: CertificateAuthority;
  packages: AgentPackages;
  /** Read at each request: the ports are known only once the servers listen. */
  address: () => ManagerAddress;
  now: () => number;
}

const Platform = Type.Union([Type.Literal('linux'), Type.Literal('macos')]);

/** Deep Security's AgentDeploymentScript, plus the script token's limits (Palisade's own, optional). */
const AgentDeploymentScript = Type.Object(
  {
    platform: Platform,
    policyID: Type.Optional(
      Nullable(Type.Integer({ minimum: 1, description: 'policy new computers get (default: Base Policy)' })),
    ),
    activationRequired: Type.Optional(
      Type.Boolean({ description: 'activate as part of the script, with a token made for it (default false)' }),
    ),
    validateCertificateRequired: Type.Optional(
      Type.Boolean({
        description:
          'accepted for Deep Security clients; Palisade scripts always verify the manager against the CA fingerprint they carry',
      }),
    ),
    // Deep Security members for things Palisade does not have; null or absent only.
    dsmProxyID: Type.Optional(Type.Null()),
    relayID: Type.Optional(Type.Null()),
    relayProxyID: Type.Optional(Type.Null()),
    computerGroupID: Type.Optional(Type.Null()),
    activationTokenUses: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description: 'uses of the script token (default 100; null = unlimited)',
        }),
      ),
    ),
    activationTokenHours: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 1,
          maximum: 8760,
          description: 'lifetime of the script token (default 168 = 7 days; null = never expires)',
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export const AgentDeploymentScriptView = Type.Object({
  platform: Platform,
  policyID: Nullable(Type.Integer()),
  activationRequired: Type.Boolean(),
  validateCertificateRequired: Type.Boolean(),
  activationTokenID: Nullable(
    Type.Integer({ description: 'the token made for this script (GET /api/activationtokens)' }),
  ),
  scriptBody: Type.String({ description: 'the bash script (docs/deployment.md)' }),
});

export const AgentPackageView = Type.Object({
  fileName: Type.String(),
  version: Type.String(),
  platform: Platform,
  architecture: Type.Union([Type.Literal('x86_64'), Type.Literal('aarch64')]),
  sha256: Type.String({ description: 'lowercase hex SHA-256 of the file' }),
  size: Type.Integer({ description: 'bytes' }),
  modified: Type.Integer({ description: 'epoch ms' }),
  downloadPath: Type.String({ description: 'path on this port the deployment scripts download it from' }),
});

export const ActivationTokenView = Type.Object({
  ID: Type.Integer(),
  policyID: Type.Integer(),
  policyName: Nullable(Type.String()),
  description: Type.String({ description: 'what it was made for' }),
  maxUses: Nullable(Type.Integer({ description: 'null: unlimited' })),
  uses: Type.Integer(),
  expires: Nullable(Type.Integer({ description: 'epoch ms; null: never' })),
  created: Type.Integer({ description: 'epoch ms' }),
  revoked: Nullable(Type.Integer({ description: 'epoch ms; null: not revoked' })),
  status: Type.Union([
    Type.Literal('valid'),
    Type.Literal('expired'),
    Type.Literal('used-up'),
    Type.Literal('revoked'),
  ]),
});

export const ActivationTokenWithSecretView = Type.Object({
  ...ActivationTokenView.properties,
  token: Type.String({
    description: 'the secret for `palisade-agent activate --token`; shown this once, never stored',
  }),
});

/** A hand-made token: the CLI's `token create` over the API, with the same defaults. */
const ActivationTokenCreate = Type.Object(
  {
    policyID: Type.Integer({ minimum: 1, description: 'the policy computers activated with it get' }),
    description: Type.Optional(Type.String({ maxLength: 2000, description: 'what it is for (shown in the list)' })),
    maxUses: Type.Optional(
      Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'default 1; null: unlimited' })),
    ),
    expires: Type.Optional(
      Nullable(Type.Integer({ minimum: 0, description: 'epoch ms; default 24 hours from now; null: never' })),
    ),
  },
  { additionalProperties: false },
);
/** The CLI's `token create` default lifetime (docs/deployment.md). */
const TOKEN_DEFAULT_TTL_MS = 24 * 3_600_000;

const DownloadParams = Type.Object(
  {
    platform: Type.String({ maxLength: 16 }),
    arch: Type.String({ maxLength: 16 }),
    version: Type.String({ maxLength: 64 }),
    file: Type.String({ maxLength: 128 }),
  },
  { additionalProperties: false },
);

/** Deployment scripts, the agent packages the manager serves, and activation tokens. */
export function deploymentRoutes(app: FastifyInstance, deps: DeploymentRouteDeps): void {
  app.post<{ Body: Static<typeof AgentDeploymentScript> }>(
    '/api/agentdeploymentscripts',
    {
      schema: {
        summary: 'Write an agent deployment script',
        description:
          "Deep Security's route and shape. With activationRequired the script activates with an activation token made for it (policy, uses, expiry), never the API key.",
        tags: ['Deployment'],
        body: AgentDeploymentScript,
        response: { 200: AgentDeploymentScriptView },
      },
    },
    async (req) => {
      const b = req.body;
      const activate = b.activationRequired === true;
      const r = await createDeploymentScript(
        { store: deps.store, ca: deps.ca, packages: deps.packages, address: deps.address() },
        {
          platform: b.platform,
          activate,
          ...(b.policyID != null ? { policyId: b.policyID } : {}),
          ...(b.activationTokenUses !== undefined ? { tokenUses: b.activationTokenUses } : {}),
          ...(b.activationTokenHours !== undefined ? { tokenHours: b.activationTokenHours } : {}),
          actor: actorOf(req),
          now: deps.now(),
        },
      );
      return {
        platform: b.platform,
        policyID: r.policyId,
        activationRequired: activate,
        validateCertificateRequired: b.validateCertificateRequired ?? true,
        activationTokenID: r.activationTokenId,
        scriptBody: r.scriptBody,
      };
    },
  );

  app.get(
    '/api/agentpackages',
    {
      schema: {
        summary: 'List the agent packages this manager serves',
        tags: ['Deployment'],
        response: { 200: Type.Object({ agentPackages: Type.Array(AgentPackageView) }) },
      },
    },
    async () => ({
      agentPackages: (await deps.packages.list()).map((p) => ({ ...p, downloadPath: downloadPath(p) })),
    }),
  );

  app.get(
    '/api/activationtokens',
    {
      schema: {
        summary: 'List activation tokens (never their secrets)',
        tags: ['Deployment'],
        response: { 200: Type.Object({ activationTokens: Type.Array(ActivationTokenView) }) },
      },
    },
    async () => {
      const t = deps.now();
      return {
        activationTokens: (await deps.store.activationTokens.list()).map((k) => tokenView(k, t)),
      };
    },
  );

  app.post<{ Body: Static<typeof ActivationTokenCreate> }>(
    '/api/activationtokens',
    {
      schema: {
        summary: 'Create an activation token',
        description:
          'The reply carries `token`, the only time it is shown: the manager keeps its hash. An `expires` in the past is refused. Audited (`activationToken.create`).',
        tags: ['Deployment'],
        body: ActivationTokenCreate,
        response: { 200: ActivationTokenWithSecretView },
      },
    },
    async (req) => {
      const b = req.body;
      const t = deps.now();
      if (b.expires != null && b.expires <= t)
        throw new PalisadeError(
          'VALIDATION_FAILED',
          `expires: ${new Date(b.expires).toISOString()} is not in the future`,
        );
      const policy = await deps.store.policies.get(b.policyID);
      if (!policy) throw new PalisadeError('POLICY_NOT_FOUND', `policyID: ${b.policyID}`);
      const issued = await issueActivationToken(
        deps.store,
        {
          policyId: policy.id,
          maxUses: b.maxUses === undefined ? 1 : b.maxUses,
          ttlMs: b.expires === undefined ? TOKEN_DEFAULT_TTL_MS : b.expires === null ? null : b.expires - t,
          description: b.description ?? '',
        },
        actorOf(req),
        t,
      );
      const made = await deps.store.activationTokens.get(issued.id);
      if (!made) throw new PalisadeError('ACTIVATION_TOKEN_NOT_FOUND', `ID ${issued.id}`);
      return { ...tokenView(made, t), token: issued.token };
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/activationtokens/:id',
    {
      schema: {
        summary: 'Revoke an activation token',
        tags: ['Deployment'],
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      await revokeActivationToken(deps.store, Number(req.params.id), actorOf(req), deps.now());
      return reply.status(204).send();
    },
  );
}

/**
 * The download route the scripts use, Deep Security's URL form
 * (`/software/agent/<platform>/<arch>/<version>/<file>`), without an API key: packages are
 * not secret, and a host being deployed holds no key. Integrity comes from the SHA-256 the
 * script carries, authenticity from the pinned manager CA.
 */
export function agentDownloadRoute(app: FastifyInstance, packages: AgentPackages): void {
  app.get<{ Params: Static<typeof DownloadParams> }>(
    '/software/agent/:platform/:arch/:version/:file',
    { schema: { params: DownloadParams } },
    async (req, reply) => {
      const { platform, arch, version, file } = req.params;
      const p = await packages.find({ platform, architecture: arch, version, fileName: file });
      if (!p) throw new PalisadeError('AGENT_PACKAGE_NOT_FOUND', `${platform}/${arch}/${version}/${file}`);
      return reply
        .type('application/gzip')
        .header('content-length', String(p.size))
        .header('x-checksum-sha256', p.sha256)
        .send(createReadStream(packages.path(p)));
    },
  );
}

export function downloadPath(p: { platform: string; architecture: string; version: string; fileName: string }): string {
  return `/software/agent/${p.platform}/${p.architecture}/${p.version}/${p.fileName}`;
}

function tokenView(k: ActivationTokenRecord, now: number) {
  return {
    ID: k.id,
    policyID: k.policyId,
    policyName: k.policyName,
    description: k.description,
    maxUses: k.maxUses,
    uses: k.uses,
    expires: k.expiresAt,
    created: k.createdAt,
    revoked: k.revokedAt,
    status: tokenStatus(k, now),
  };
}
