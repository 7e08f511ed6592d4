import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_ERRORS, AgentError } from './agent-error.js';
import { LISTENER_ERRORS, ListenerError } from './listener-error.js';

// docs/errors.md against these registries: tests/repository/src/error-docs.test.ts.

test('an agent error names its code and class, adds the detail, and keeps what it reports', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4120'), { code: 'ECONNREFUSED' });
  const e = new AgentError('MANAGER_UNREACHABLE', '127.0.0.1:4120 refused the connection', { cause: refused });
  assert.equal(e.name, 'AgentError');
  assert.equal(e.code, 'MANAGER_UNREACHABLE');
  assert.equal(e.message, `${AGENT_ERRORS.MANAGER_UNREACHABLE}: 127.0.0.1:4120 refused the connection`);
  assert.equal(e.cause, refused);
  assert.deepEqual([e.managerCode, e.retryAfterSeconds], [undefined, null]);
  const busy = new AgentError('MANAGER_REFUSED', 'MANAGER_BUSY: …', {
    managerCode: 'MANAGER_BUSY',
    retryAfterSeconds: 7,
  });
  assert.deepEqual([busy.managerCode, busy.retryAfterSeconds, 'cause' in busy], ['MANAGER_BUSY', 7, false]);
});

test('a listener error carries the status it is answered with', () => {
  const e = new ListenerError('EXCHANGE_NOT_ON_THIS_CONNECTION');
  assert.equal(e.name, 'ListenerError');
  assert.equal(LISTENER_ERRORS[e.code].status, 409);
  for (const [k, v] of Object.entries(LISTENER_ERRORS)) assert.ok(v.status >= 400 && v.status < 600, k);
});
