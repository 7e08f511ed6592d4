import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { Monitoring } from '../monitor/monitoring.js';
import type { Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { IdParams } from './computers-routes.js';

const VmStateBody = Type.Object(
  {
    state: Type.Union([Type.Literal('running'), Type.Literal('stopped')], {
      description: "the VM's power state as the hypervisor or cloud inventory knows it",
    }),
  },
  { additionalProperties: false },
);

export const VmStateView = Type.Object(
  {
    computerID: Type.Integer(),
    vmState: Type.String({ enum: ['running', 'stopped'] }),
    changed: Type.Boolean({ description: 'false when the computer was already in that state' }),
  },
  { additionalProperties: false },
);

/**
 * `POST /api/computers/{id}/vmstate`: the inventory API a hypervisor or cloud connector uses to
 * report a VM's power state. A stopped VM shows `VM Stopped` and gets the offline alert only
 * when its `platformSettingHeartbeatInactiveVmOfflineAlertEnabled` is `true`; the next heartbeat
 * from its agent marks it running again.
 */
export function vmStateRoutes(app: FastifyInstance, store: Store, monitoring: Monitoring, now: () => number): void {
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof VmStateBody> }>(
    '/api/computers/:id/vmstate',
    {
      schema: {
        ...{
          summary: "Report a VM's power state",
          tags: ['Computers'],
          description:
            'For hypervisor and cloud connectors. On a computer already Offline it settles the offline alert at once (a stopped VM without the inactive-VM setting clears it).',
        },
        params: IdParams,
        body: VmStateBody,
        response: { 200: VmStateView },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      const c = await store.computers.get(id);
      if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', req.params.id);
      if (c.state === 'deactivated') throw new PalisadeError('COMPUTER_DEACTIVATED', req.params.id);
      const r = await monitoring.heartbeats.setVmState(id, req.body.state, now(), actorOf(req));
      if (!r) throw new PalisadeError('COMPUTER_NOT_FOUND', req.params.id);
      if (r.changed) req.log.info({ computerId: id, vmState: req.body.state }, 'VM power state reported');
      return { computerID: id, vmState: req.body.state, changed: r.changed };
    },
  );
}
