import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AgentEvent, HeartbeatReport, MAX_EVENT_DATA_DEPTH, nestedDeeperThan, OperationResult } from './messages.js';
import { schemaProblem } from './validate.js';

/** `{a: {a: … {a: 1}}}`, `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}

describe('bounds on what an agent sends (issue 12, item 3)', () => {
  const event = { seq: 1, time: 0, type: 't', severity: 'info', message: '' };
  const report = {
    protocolVersion: 1,
    agent: { version: '1', platform: 'linux', hostName: 'h', uptimeSeconds: 1, clockTime: 0 },
    drivers: [],
    events: [],
    counters: {},
    configurationFingerprint: null,
  };

  test('numbers up to 2^53 - 1 (and times up to the last Date) pass; beyond, the schema refuses them', () => {
    assert.equal(schemaProblem(AgentEvent, { ...event, seq: Number.MAX_SAFE_INTEGER, time: 8.64e15 }), null);
    for (const bad of [{ seq: 1e300 }, { seq: Number.MAX_SAFE_INTEGER + 2 }, { time: 8.64e15 + 1 }, { time: 1e300 }])
      assert.ok(schemaProblem(AgentEvent, { ...event, ...bad }), JSON.stringify(bad));
    assert.ok(schemaProblem(HeartbeatReport, { ...report, counters: { c: 1e300 } }));
    assert.ok(schemaProblem(HeartbeatReport, { ...report, agent: { ...report.agent, uptimeSeconds: 1e300 } }));
    assert.ok(schemaProblem(HeartbeatReport, { ...report, agent: { ...report.agent, clockTime: 1e300 } }));
    assert.ok(schemaProblem(OperationResult, { id: 1e300, status: 'succeeded' }));
    assert.equal(schemaProblem(HeartbeatReport, report), null);
  });

  test('event data nests at most MAX_EVENT_DATA_DEPTH levels; scalars and absence are depth 0', () => {
    assert.equal(nestedDeeperThan(nested(MAX_EVENT_DATA_DEPTH), MAX_EVENT_DATA_DEPTH), false);
    assert.equal(nestedDeeperThan(nested(MAX_EVENT_DATA_DEPTH + 1), MAX_EVENT_DATA_DEPTH), true);
    assert.equal(nestedDeeperThan({ list: [[[1]]] }, 3), true, 'arrays count as levels');
    assert.equal(nestedDeeperThan({ list: [[1]] }, 3), false);
    assert.equal(nestedDeeperThan(undefined, 1), false);
    assert.equal(nestedDeeperThan('x', 0), false);
  });

  test('a hostile depth is walked without recursion', () => {
    assert.equal(nestedDeeperThan(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 64), true);
  });
});
