import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { Store } from '../store/store.js';
import { computerView } from './computer-view.js';

export const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) }, { additionalProperties: false });

export function computersRoutes(app: FastifyInstance, store: Store, now: () => number): void {
  app.get('/api/computers', async () => {
    const t = now();
    return { computers: (await store.listComputers()).map((c) => computerView(c, t)) };
  });

  app.get<{ Params: { id: string } }>('/api/computers/:id', { schema: { params: IdParams } }, async (req) => {
    const c = await store.getComputer(Number(req.params.id));
    if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', req.params.id);
    return computerView(c, now());
  });
}
