import { COMPUTER_STATUSES, type ComputerStatus } from '@palisade/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { ComputerLifecycleService } from '../services/computer-lifecycle.js';
import type { ComputerDetail, PolicyService } from '../services/policy-service.js';
import { COMPUTER_SORT_KEYS, type ComputerSortKey, type Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { ComputerView, computerExpansion, computerView, ExpandQuery, expandComputer } from './computer-view.js';
import { objectSettingRoutes } from './object-setting-routes.js';
import { settingWrites } from './policies-routes.js';
import { EmptyReply, IdParams, OverridesQuery, SettingsWrite } from './schemas.js';
import { searchFieldsOf, searchRoute } from './search-route.js';

export { IdParams } from './schemas.js';

/**
 * The members of a computer Palisade does not let a client change: shown by GET and accepted in a
 * modify body so that a described computer can be sent back (Deep Security's SDKs send every
 * member they read), but ignored — except the names, which are refused when they differ.
 */
const READ_ONLY_MEMBERS = Object.keys(ComputerView.properties).filter(
  (k) => k !== 'policyID' && k !== 'computerSettings',
);
const NAMES = ['hostName', 'displayName'] as const;

const ComputerModify = Type.Object(
  {
    policyID: Type.Optional(Type.Integer({ minimum: 1, description: 'assign another policy' })),
    computerSettings: Type.Optional(SettingsWrite),
    ...Object.fromEntries(
      READ_ONLY_MEMBERS.map((k) => [
        k,
        Type.Optional(Type.Unknown({ description: 'read-only: accepted and ignored' })),
      ]),
    ),
  },
  { additionalProperties: false },
);
export const ComputerList = Type.Object({
  computers: Type.Array(ComputerView),
  total: Type.Optional(Type.Integer({ description: 'paged lists only: computers matching the filters' })),
  limit: Type.Optional(Type.Integer()),
  offset: Type.Optional(Type.Integer()),
});

/**
 * The list's paging, sorting and filters. Without any of them the list is every computer, as
 * before (Deep Security's shape); with any, it is one page in SQL and says `total`.
 */
const ComputerListQuery = Type.Object(
  {
    ...OverridesQuery.properties,
    expand: ExpandQuery,
    limit: Type.Optional(
      Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'page size 1–1000 (default 50 when paging)' }),
    ),
    offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'default 0' })),
    sortBy: Type.Optional(Type.String({ enum: [...COMPUTER_SORT_KEYS], description: 'default hostName' })),
    sortOrder: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'default asc' })),
    search: Type.Optional(Type.String({ maxLength: 255, description: 'part of the host name or last IP, any case' })),
    status: Type.Optional(
      Type.String({
        maxLength: 512,
        description: `comma-separated statuses: ${COMPUTER_STATUSES.join(', ')}`,
      }),
    ),
    policyID: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,15}(,[1-9][0-9]{0,15}){0,99}$',
        description: 'comma-separated policy IDs',
      }),
    ),
  },
  { additionalProperties: false },
);
type ListQuery = Static<typeof ComputerListQuery>;

/** `?overrides=` for the settings, `?expand=` for which members (Deep Security's). */
const ComputerQuery = Type.Object(
  { ...OverridesQuery.properties, expand: ExpandQuery },
  { additionalProperties: false },
);
type Query = Static<typeof ComputerQuery>;

function statusesOf(v: string): ComputerStatus[] {
  const out: ComputerStatus[] = [];
  for (const s of v.split(',').map((x) => x.trim())) {
    if (!(COMPUTER_STATUSES as readonly string[]).includes(s))
      throw new PalisadeError(
        'VALIDATION_FAILED',
        `querystring.status "${s}" is not one of ${COMPUTER_STATUSES.join(', ')}`,
      );
    out.push(s as ComputerStatus);
  }
  return out;
}

type Id = Static<typeof IdParams>;

/** Computers and their settings (`/api/computers…`), Deep Security's routes and shapes. */
export function computersRoutes(
  app: FastifyInstance,
  policies: PolicyService,
  now: () => number,
  store: Store,
  lifecycle: ComputerLifecycleService,
): void {
  const tags = ['Computers'];
  /** Which computers show `Updating`; without a store, none. */
  const updating = async (ids?: readonly number[]): Promise<ReadonlySet<number>> =>
    store ? store.operations.computersUpdating(ids) : new Set();
  const view = async (d: ComputerDetail, q: Query = {}) =>
    expandComputer(
      computerView(d, now(), q.overrides === 'true', (await updating([d.record.id])).has(d.record.id)),
      computerExpansion(q.expand),
    );
  /** Every computer, as the list shows them (search filters these). */
  const all = async (q: Query) => {
    const members = computerExpansion(q.expand);
    const t = now();
    const [list, inFlight] = await Promise.all([policies.listComputers(), updating()]);
    return list.map((d) =>
      expandComputer(computerView(d, t, q.overrides === 'true', inFlight.has(d.record.id)), members),
    );
  };

  app.get<{ Querystring: ListQuery }>(
    '/api/computers',
    {
      schema: {
        summary: 'List computers',
        description:
          'Every computer, or with limit/offset/sortBy/sortOrder/search/status/policyID one page of them (sorted and filtered by the manager) and the total.',
        tags,
        querystring: ComputerListQuery,
        response: { 200: ComputerList },
      },
    },
    async (req) => {
      const t = now();
      const q = req.query;
      const only = q.overrides === 'true';
      const members = computerExpansion(q.expand);
      const paged = [q.limit, q.offset, q.sortBy, q.sortOrder, q.search, q.status, q.policyID].some(
        (v) => v !== undefined,
      );
      if (!paged || !store) return { computers: await all(q) };
      const limit = Number(q.limit ?? 50);
      const offset = Number(q.offset ?? 0);
      const page = await store.computers.page({
        limit,
        offset,
        sortBy: (q.sortBy ?? 'hostName') as ComputerSortKey,
        order: q.sortOrder ?? 'asc',
        ...(q.search ? { search: q.search } : {}),
        ...(q.status ? { statuses: statusesOf(q.status) } : {}),
        ...(q.policyID ? { policyIds: q.policyID.split(',').map(Number) } : {}),
        now: t,
      });
      const ids = page.computers.map((c) => c.id);
      const [details, inFlight] = await Promise.all([policies.computerDetails(page.computers), updating(ids)]);
      return {
        computers: details.map((d) => expandComputer(computerView(d, t, only, inFlight.has(d.record.id)), members)),
        total: page.total,
        limit,
        offset,
      };
    },
  );

  searchRoute(app, {
    path: '/api/computers',
    envelope: 'computers',
    view: ComputerView,
    fields: searchFieldsOf(ComputerView, ['lastAgentCommunication', 'activatedAt', 'offlineSince']),
    noun: 'computers',
    tags,
    querystring: ComputerQuery,
    list: (q) => all(q as Query) as Promise<Array<{ ID: number }>>,
  });

  app.get<{ Params: Id; Querystring: Query }>(
    '/api/computers/:id',
    {
      schema: {
        summary: 'Describe a computer',
        tags,
        params: IdParams,
        querystring: ComputerQuery,
        response: { 200: ComputerView },
      },
    },
    async (req) => view(await policies.getComputer(Number(req.params.id)), req.query),
  );

  app.post<{ Params: Id; Body: Static<typeof ComputerModify> }>(
    '/api/computers/:id',
    {
      schema: {
        summary: 'Modify a computer',
        description:
          'Assign another policy (policyID) and override or reset settings, all or nothing. A described computer may be sent back: its read-only members are ignored, but a changed hostName or displayName is refused. The agent picks the change up on its next heartbeat.',
        tags,
        params: IdParams,
        body: ComputerModify,
        response: { 200: ComputerView },
      },
    },
    async (req) => {
      const shown = computerView(await policies.getComputer(Number(req.params.id)), now());
      for (const name of NAMES) {
        const sent = (req.body as Record<string, unknown>)[name];
        if (sent !== undefined && sent !== shown[name])
          throw new PalisadeError(
            'VALIDATION_FAILED',
            `body.${name} is read-only here (${name === 'hostName' ? 'the agent reports it' : 'Palisade shows the host name'}); got "${String(sent)}", the computer has "${shown[name]}"`,
          );
      }
      const d = await policies.modifyComputer(
        Number(req.params.id),
        { policyId: req.body.policyID, settings: settingWrites(req.body.computerSettings) },
        actorOf(req),
      );
      return view(d);
    },
  );

  app.delete<{ Params: Id }>(
    '/api/computers/:id',
    {
      schema: {
        summary: 'Deactivate a computer, or delete a deactivated one',
        description:
          'An active computer is deactivated: its certificate is revoked, its agent is told at once where it listens (else at its next contact) and resets itself to Activation Required; the record stays, shown Deactivated. ' +
          'A deactivated computer is deleted, with its events, settings and assignments; its certificate stays revoked. (Deep Security deletes in one step; Palisade takes two so that one DELETE never forgets a computer whose agent still runs: docs/deployment.md.)',
        tags,
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      await lifecycle.deactivateOrDelete(Number(req.params.id), actorOf(req));
      return reply.status(204).send();
    },
  );

  objectSettingRoutes(app, {
    collection: 'computers',
    noun: 'computer',
    tags,
    read: (id, name) => policies.getComputerSetting(id, name),
    write: (id, name, value, actor) => policies.writeComputerSetting(id, name, value, actor),
  });
}
