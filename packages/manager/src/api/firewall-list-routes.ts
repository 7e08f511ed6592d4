import type { FirewallListKind } from '@palisade/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { FirewallListService } from '../services/firewall-list-service.js';
import type { FirewallListRecord } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { EmptyReply, IdParams, Nullable, withoutReadOnlyId } from './schemas.js';
import { searchFieldsOf, searchRoute } from './search-route.js';

/** Deep Security's three list resources: path, list envelope, noun, what an item is. */
const RESOURCES: ReadonlyArray<{
  kind: FirewallListKind;
  path: string;
  envelope: string;
  noun: string;
  items: string;
}> = [
  {
    kind: 'ip',
    path: '/api/iplists',
    envelope: 'ipLists',
    noun: 'IP list',
    items:
      'addresses, masked IPs (192.168.2.0/24, 192.168.2.0/255.255.255.0) and ranges (192.168.0.2 - 192.168.0.125), IPv4 or IPv6',
  },
  {
    kind: 'mac',
    path: '/api/maclists',
    envelope: 'macLists',
    noun: 'MAC list',
    items: 'MAC addresses (00:11:22:33:44:55 or 00-11-22-33-44-55)',
  },
  {
    kind: 'port',
    path: '/api/portlists',
    envelope: 'portLists',
    noun: 'port list',
    items: 'ports and ranges (80, 8000-8080)',
  },
];

const ListWrite = (items: string) =>
  Type.Object(
    {
      ID: Type.Optional(Type.Integer({ description: 'read-only: accepted when it is the list being written' })),
      name: Type.Optional(
        Nullable(Type.String({ maxLength: 255, description: 'unique per kind; required to create' })),
      ),
      description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
      items: Type.Optional(
        Nullable(
          Type.Array(Type.String({ maxLength: 512 }), {
            maxItems: 4096,
            description: `${items}; an item may hold several, comma-separated; text after # is a comment`,
          }),
        ),
      ),
    },
    { additionalProperties: false },
  );

export const FirewallListView = Type.Object({
  ID: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  items: Type.Array(Type.String()),
});

function listView(l: FirewallListRecord) {
  return { ID: l.id, name: l.name, description: l.description, items: [...l.items] };
}

/**
 * `/api/iplists`, `/api/maclists`, `/api/portlists` (Deep Security's routes and members): list,
 * create, search, describe, modify (POST merges), delete. Rules name them by `…ListID`.
 */
export function firewallListRoutes(app: FastifyInstance, lists: FirewallListService): void {
  const tags = ['Firewall'];
  for (const r of RESOURCES) {
    const Write = ListWrite(r.items);
    type Body = Static<typeof Write>;
    type Id = { Params: Static<typeof IdParams> };
    const input = (body: Body, id?: number) => withoutReadOnlyId(body, id, 'FIREWALL_LIST_INVALID', 'list');
    const all = async () => (await lists.list(r.kind)).map(listView);

    app.get(
      r.path,
      {
        schema: {
          summary: `List ${r.noun}s`,
          tags,
          response: { 200: Type.Object({ [r.envelope]: Type.Array(FirewallListView) }) },
        },
      },
      async () => ({ [r.envelope]: await all() }),
    );
    searchRoute(app, {
      path: r.path,
      envelope: r.envelope,
      view: FirewallListView,
      fields: searchFieldsOf(FirewallListView),
      noun: `${r.noun}s`,
      tags,
      list: all,
    });
    app.post<{ Body: Body }>(
      r.path,
      {
        schema: {
          summary: `Create a ${r.noun}`,
          description: `Items: ${r.items}. Every item is checked when saved.`,
          tags,
          body: Write,
          response: { 200: FirewallListView },
        },
      },
      async (req) => listView(await lists.create(r.kind, input(req.body), actorOf(req))),
    );
    app.get<Id>(
      `${r.path}/:id`,
      { schema: { summary: `Describe a ${r.noun}`, tags, params: IdParams, response: { 200: FirewallListView } } },
      async (req) => listView(await lists.get(r.kind, Number(req.params.id))),
    );
    app.post<Id & { Body: Body }>(
      `${r.path}/:id`,
      {
        schema: {
          summary: `Modify a ${r.noun}`,
          description:
            'Members sent replace the stored ones. Changed items reach every computer whose rules name the list: they become Update Pending (Heartbeat) and their agents get the new items.',
          tags,
          params: IdParams,
          body: Write,
          response: { 200: FirewallListView },
        },
      },
      async (req) => {
        const id = Number(req.params.id);
        return listView(await lists.modify(r.kind, id, input(req.body, id), 'merge', actorOf(req)));
      },
    );
    app.delete<Id>(
      `${r.path}/:id`,
      {
        schema: {
          summary: `Delete a ${r.noun}`,
          description: 'Refused (FIREWALL_LIST_IN_USE, naming them) while firewall rules name it.',
          tags,
          params: IdParams,
          response: { 204: EmptyReply },
        },
      },
      async (req, reply) => {
        await lists.delete(r.kind, Number(req.params.id), actorOf(req));
        return reply.status(204).send();
      },
    );
  }
}
