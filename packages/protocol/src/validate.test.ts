import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { CommunicationState, HeartbeatRequest } from './communication.js';
import {
  ActivationReply,
  ActivationRequest,
  ErrorBody,
  HeartbeatReply,
  HeartbeatReport,
  MAX_EVENTS_PER_HEARTBEAT,
  OperationResults,
  PROTOCOL_VERSION,
  ResultsReply,
} from './messages.js';
import { matchesSchema, schemaProblem } from './validate.js';

const FINGERPRINT = `sha256:${'a'.repeat(64)}`;
const PEM = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(120)}\n-----END CERTIFICATE-----\n`;

type Json = Record<string, unknown>;
/** A deep copy of `good` with `path` (slash-separated) set to `value`, or removed when `value` is `REMOVE`. */
const REMOVE = Symbol('remove');
function withValue(good: Json, path: string, value: unknown): Json {
  const copy = structuredClone(good);
  const keys = path.split('/').filter(Boolean);
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === REMOVE) delete at[last];
  else at[last] = value;
  return copy;
}

interface Bad {
  /** What is wrong, for the test's name. */
  what: string;
  /** Where, as the problem's path names it. */
  path: string;
  value: unknown;
  /** The path the problem must name, when it is not `path` itself (a missing member: its parent's). */
  reported?: string;
}

/**
 * For each message: the good shape passes, and each bad one is refused with a problem that
 * names where it is wrong — the reason the manager's endpoint, the agent's listener and the
 * dialer give back in their 400s and CLI errors.
 */
const MESSAGES: Array<{ name: string; schema: TSchema; good: Json; bad: Bad[] }> = [
  {
    name: 'ActivationRequest',
    schema: ActivationRequest,
    good: {
      protocolVersion: PROTOCOL_VERSION,
      token: 'tok-1',
      csr: PEM,
      hostName: 'web-1',
      platform: 'linux',
      agentVersion: '0.1.0',
      listener: { port: 4118 },
    },
    bad: [
      { what: 'a protocol version as text (no coercion)', path: '/protocolVersion', value: '1' },
      { what: 'protocol version 0', path: '/protocolVersion', value: 0 },
      { what: 'an empty token', path: '/token', value: '' },
      { what: 'a CSR too short to be one', path: '/csr', value: 'x' },
      { what: 'no host name', path: '/hostName', value: REMOVE, reported: '/hostName' },
      { what: 'a listener port of 0', path: '/listener/port', value: 0 },
      { what: 'a listener address with a space', path: '/listener/address', value: 'a b' },
      { what: 'an unknown member', path: '/admin', value: true },
    ],
  },
  {
    name: 'HeartbeatReport',
    schema: HeartbeatReport,
    good: {
      protocolVersion: PROTOCOL_VERSION,
      agent: { version: '0.1.0', platform: 'linux', hostName: 'web-1', uptimeSeconds: 5, clockTime: 1_700_000_000_000 },
      drivers: [{ name: 'firewall', status: 'offline', reason: 'nft missing' }],
      events: [{ seq: 1, time: 1_700_000_000_000, type: 'agent.started', severity: 'info', message: 'm' }],
      counters: { 'firewall.r_1.packets': 3 },
      configurationFingerprint: null,
      communication: { direction: 'bidirectional', listener: { port: 4118 } },
    },
    bad: [
      { what: 'a negative uptime', path: '/agent/uptimeSeconds', value: -1 },
      { what: 'a fractional clock time', path: '/agent/clockTime', value: 1.5 },
      { what: 'a round trip over ten minutes', path: '/agent/lastRoundTripMs', value: 600_001 },
      { what: 'a driver status other than online/offline', path: '/drivers/0/status', value: 'degraded' },
      { what: 'an event seq of 0', path: '/events/0/seq', value: 0 },
      { what: 'an unknown severity', path: '/events/0/severity', value: 'debug' },
      { what: 'a negative counter', path: '/counters/firewall.r_1.packets', value: -1 },
      { what: 'a fingerprint that is not sha256', path: '/configurationFingerprint', value: 'md5:abc' },
      { what: 'an unknown direction', path: '/communication/direction', value: 'sideways' },
      { what: 'an unknown member of the agent', path: '/agent/root', value: true },
      {
        what: 'more events than one heartbeat carries',
        path: '/events',
        value: Array.from({ length: MAX_EVENTS_PER_HEARTBEAT + 1 }, (_, i) => ({
          seq: i + 1,
          time: 0,
          type: 't',
          severity: 'info',
          message: '',
        })),
      },
    ],
  },
  {
    name: 'HeartbeatReply',
    schema: HeartbeatReply,
    good: {
      protocolVersion: PROTOCOL_VERSION,
      computerId: 7,
      serverTime: 1_700_000_000_000,
      eventsAckedThrough: 0,
      eventsStored: 0,
      operations: [{ id: 1, type: 'applyConfiguration', fingerprint: FINGERPRINT, configuration: { schema: 1 } }],
      exchangeId: 'x-1',
      heartbeatIntervalSeconds: 600,
    },
    bad: [
      { what: 'computer 0', path: '/computerId', value: 0 },
      { what: 'a negative acknowledgement', path: '/eventsAckedThrough', value: -1 },
      { what: 'an operation of an unknown type', path: '/operations/0/type', value: 'reboot' },
      { what: 'no exchange id', path: '/exchangeId', value: REMOVE },
      { what: 'an interval over a day', path: '/heartbeatIntervalSeconds', value: 86_401 },
      { what: 'an interval of 0', path: '/heartbeatIntervalSeconds', value: 0 },
    ],
  },
  {
    name: 'OperationResults',
    schema: OperationResults,
    good: {
      protocolVersion: PROTOCOL_VERSION,
      exchangeId: 'x-1',
      results: [
        { id: 1, status: 'succeeded', fingerprint: FINGERPRINT },
        { id: 2, status: 'failed', reason: 'nft refused' },
      ],
      communication: { direction: 'agent-initiated', listener: null },
    },
    bad: [
      { what: 'a status other than succeeded/failed', path: '/results/0/status', value: 'done' },
      { what: 'a fractional id', path: '/results/0/id', value: 1.5 },
      { what: 'a fingerprint that is not sha256', path: '/results/0/fingerprint', value: 'sha256:XYZ' },
      { what: 'an empty exchange id', path: '/exchangeId', value: '' },
      { what: 'an unknown member of a result', path: '/results/1/extra', value: 1 },
    ],
  },
  {
    name: 'ResultsReply',
    schema: ResultsReply,
    good: { accepted: [1], ignored: [2] },
    bad: [
      { what: 'no accepted list', path: '/accepted', value: REMOVE },
      { what: 'an id as text', path: '/ignored/0', value: '2' },
    ],
  },
  {
    name: 'ActivationReply',
    schema: ActivationReply,
    good: {
      protocolVersion: PROTOCOL_VERSION,
      computerId: 7,
      policyId: 1,
      policyName: 'Base Policy',
      certificate: PEM,
      caCertificate: PEM,
      configuration: { schema: 1 },
      fingerprint: FINGERPRINT,
      heartbeatIntervalSeconds: 600,
    },
    bad: [
      { what: 'no CA certificate', path: '/caCertificate', value: REMOVE },
      { what: 'a certificate too short to be one', path: '/certificate', value: 'x' },
      { what: 'a fingerprint in upper case', path: '/fingerprint', value: FINGERPRINT.toUpperCase() },
      { what: 'policy 0', path: '/policyId', value: 0 },
    ],
  },
  {
    name: 'HeartbeatRequest',
    schema: HeartbeatRequest,
    good: { protocolVersion: PROTOCOL_VERSION, exchangeId: 'x-1' },
    bad: [
      { what: 'protocol version over 1000', path: '/protocolVersion', value: 1001 },
      { what: 'an exchange id over 128 characters', path: '/exchangeId', value: 'x'.repeat(129) },
      { what: 'an unknown member', path: '/operations', value: [] },
    ],
  },
  {
    name: 'CommunicationState',
    schema: CommunicationState,
    good: { direction: 'manager-initiated', listener: { port: 4118, address: '198.18.0.2' }, listenerError: '' },
    bad: [
      { what: 'a listener port over 65535', path: '/listener/port', value: 65_536 },
      { what: 'no listener member (null says none)', path: '/listener', value: REMOVE },
    ],
  },
  {
    name: 'ErrorBody',
    schema: ErrorBody,
    good: { error: { code: 'MANAGER_BUSY', message: 'try again' } },
    bad: [{ what: 'no code', path: '/error/code', value: REMOVE }],
  },
];

describe('protocol messages: schemaProblem and matchesSchema', () => {
  for (const m of MESSAGES) {
    test(`${m.name}: the good shape passes`, () => {
      assert.equal(schemaProblem(m.schema, m.good), null);
      assert.equal(matchesSchema(m.schema, m.good), true);
    });
    for (const b of m.bad) {
      test(`${m.name}: ${b.what} is refused, naming ${b.reported ?? b.path}`, () => {
        const bad = withValue(m.good, b.path, b.value);
        assert.equal(matchesSchema(m.schema, bad), false);
        const problem = schemaProblem(m.schema, bad);
        assert.ok(problem, 'a problem is reported');
        const [where, ...why] = problem.split(': ');
        assert.equal(where, b.reported ?? b.path);
        assert.ok(why.join(': ').length > 0, `a reason follows the path: ${problem}`);
      });
    }
  }

  test('a value that is not an object at all is refused at the root', () => {
    assert.match(schemaProblem(HeartbeatReport, 'report') ?? '', /^\/: /);
    assert.match(schemaProblem(HeartbeatReport, null) ?? '', /^\/: /);
  });

  test('inside a union, the problem of the member that got furthest is the one reported', () => {
    assert.equal(
      schemaProblem(CommunicationState, { direction: 'bidirectional', listener: { port: 65_536 } }),
      '/listener/port: Expected integer to be less or equal to 65535',
    );
    // No member got further than the union itself: the union's own problem.
    assert.equal(
      schemaProblem(CommunicationState, { direction: 'bidirectional', listener: 4118 }),
      '/listener: Expected union value',
    );
  });

  test('replies allow members a newer manager adds; requests do not', () => {
    const reply = MESSAGES.find((m) => m.name === 'HeartbeatReply')!;
    assert.equal(schemaProblem(HeartbeatReply, { ...reply.good, newerField: 1 }), null);
    const request = MESSAGES.find((m) => m.name === 'HeartbeatReport')!;
    assert.match(schemaProblem(HeartbeatReport, { ...request.good, newerField: 1 }) ?? '', /^\/newerField: /);
  });
});
