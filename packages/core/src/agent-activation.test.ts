import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AgentActivationSettings,
  agentActivationSettingProblem,
  agentActivationSettings,
  continuityOf,
  DEFAULT_AGENT_ACTIVATION_SETTINGS as DEFAULTS,
  decideActivation,
  heartbeatContinuity,
  type KnownComputer,
} from './agent-activation.js';

const known = (state: KnownComputer['state'], continuity: KnownComputer['continuity']): KnownComputer => ({
  id: 7,
  state,
  continuity,
});
const with_ = (s: Partial<AgentActivationSettings>) => ({ ...DEFAULTS, ...s });

test('stored values read as settings; missing or unusable ones are the defaults', () => {
  assert.deepEqual(agentActivationSettings({}), DEFAULTS);
  assert.deepEqual(
    agentActivationSettings({
      platformSettingAgentInitiatedActivationEnabled: 'For existing computers',
      platformSettingAgentInitiatedActivationReactivateClonedEnabled: 'false',
      platformSettingAgentInitiatedActivationReactivateUnknownEnabled: 'yes',
    }),
    { allow: 'For existing computers', reactivateCloned: false, reactivateUnknown: true },
  );
  assert.equal(
    agentActivationSettingProblem('platformSettingAgentInitiatedActivationEnabled', 'For any computers'),
    null,
  );
  assert.match(
    agentActivationSettingProblem(
      'platformSettingAgentInitiatedActivationEnabled',
      'For computers on the following IP list',
    )!,
    /takes one of "For any computers", "For existing computers", "Off"/,
  );
  assert.match(
    agentActivationSettingProblem('platformSettingAgentInitiatedActivationReactivateClonedEnabled', true)!,
    /string/,
  );
  assert.match(agentActivationSettingProblem('platformSettingNope', 'true')!, /unknown system setting/);
});

test('continuity: the copy that last talked is current (or previous after a lost reply); another copy is stale', () => {
  assert.equal(continuityOf('a', null, null), 'none-issued');
  assert.equal(continuityOf(null, 'b', 'a'), 'absent');
  assert.equal(continuityOf('b', 'b', 'a'), 'current');
  assert.equal(continuityOf('a', 'b', 'a'), 'previous');
  assert.equal(continuityOf('z', 'b', 'a'), 'stale');
  // The host holds c and, before it, b: the manager's current. The rotation to c was lost.
  assert.equal(continuityOf('c', 'b', 'a', 'b'), 'ahead');
  assert.equal(continuityOf('c', 'b', 'a', 'a'), 'stale', 'two rotations behind the host: not one the manager lost');
  assert.equal(continuityOf('b', 'b', 'a', 'a'), 'current');
  assert.deepEqual(heartbeatContinuity('ahead'), { action: 'rotate', keepPrevious: false });
  assert.deepEqual(heartbeatContinuity('current'), { action: 'rotate', keepPrevious: false });
  assert.deepEqual(heartbeatContinuity('previous'), { action: 'rotate', keepPrevious: true });
  // Issued one, presents none: its continuity file was deleted, the identity kept (item 3).
  assert.deepEqual(heartbeatContinuity('absent'), { action: 'cloned' });
  assert.deepEqual(heartbeatContinuity('stale'), { action: 'cloned' });
});

test('two copies of one host: whichever falls behind is caught, however replies are lost', () => {
  // The manager side of the rotation, as ingest runs it, with two hosts holding the same token.
  let n = 0;
  const m = { current: null as string | null, previous: null as string | null };
  const beat = (presented: string | null): string | 'cloned' => {
    const d = heartbeatContinuity(continuityOf(presented, m.current, m.previous));
    if (d.action === 'cloned') return 'cloned';
    const next = `t${++n}`;
    if (!d.keepPrevious) m.previous = presented;
    m.current = next;
    return next;
  };
  // One host whose replies are lost twice, then arrive: never a clone.
  const t1 = beat(null);
  beat(t1); // reply lost
  beat(t1); // retried, reply lost again
  const t4 = beat(t1);
  assert.notEqual(beat(t4), 'cloned');
  // Two copies from here: A and B both hold the token A was last given.
  const shared = beat(m.current);
  const a = beat(shared);
  const b = beat(shared); // B presents what is now the previous token: taken for a lost reply
  assert.equal(beat(a), 'cloned', 'A now holds a token from between: the second copy is seen');
  assert.notEqual(b, 'cloned');
});

test('a rotation the manager lost is taken back; two copies are still caught', () => {
  // As ingest runs it, with hosts that present the token they held before too.
  let n = 0;
  const m = { current: null as string | null, previous: null as string | null };
  const host = (held: string | null = null, before: string | null = null) => ({ held, before });
  const beat = (h: { held: string | null; before: string | null }, lost = false): 'ok' | 'cloned' => {
    const c = continuityOf(h.held, m.current, m.previous, h.before);
    const d = heartbeatContinuity(c);
    if (d.action === 'cloned') return 'cloned';
    const next = `t${++n}`;
    if (!lost) {
      if (!d.keepPrevious) m.previous = h.held;
      m.current = next;
    }
    h.before = h.held;
    h.held = next;
    return 'ok';
  };
  const a = host();
  beat(a);
  beat(a);
  assert.equal(beat(a, true), 'ok', 'the reply reached the host, the commit was lost with the power');
  assert.equal(beat(a), 'ok', 'the host is one rotation ahead: taken back');
  assert.equal(beat(a), 'ok');
  // A copy of A made now, then both report: the second to report is caught at its next one.
  const b = host(a.held, a.before);
  assert.equal(beat(a), 'ok');
  assert.equal(beat(b), 'ok', 'B presents what is now the previous token: taken for a lost reply');
  assert.equal(beat(a), 'cloned');
  // A copy made before a lost rotation holds what the manager holds after it: one of the two wins.
  const c = host(b.held, b.before);
  assert.equal(beat(b, true), 'ok');
  assert.equal(beat(c), 'ok', 'C presents the current token');
  assert.equal(beat(b), 'cloned', 'B is one ahead of a token that is no longer current');
});

test('Off refuses every activation', () => {
  for (const r of [
    { kind: 'token', known: null },
    { kind: 'token', known: known('active', 'current') },
    { kind: 'unknown', known: null },
    { kind: 'cloned', originalId: 7 },
  ] as const)
    assert.deepEqual(
      [
        decideActivation(with_({ allow: 'Off' }), r).action,
        (decideActivation(with_({ allow: 'Off' }), r) as { code?: string }).code,
      ],
      ['refuse', 'ACTIVATION_NOT_ALLOWED'],
    );
});

test('a known host reactivates its computer: deactivated, or active and the copy that last talked', () => {
  for (const c of ['current', 'previous', 'none-issued', 'absent'] as const)
    assert.deepEqual(decideActivation(DEFAULTS, { kind: 'token', known: known('active', c) }), {
      action: 'reactivate',
      computerId: 7,
    });
  assert.deepEqual(decideActivation(DEFAULTS, { kind: 'token', known: known('deactivated', 'stale') }), {
    action: 'reactivate',
    computerId: 7,
  });
  // For existing computers: reactivation only.
  const existing = with_({ allow: 'For existing computers' });
  assert.equal(
    decideActivation(existing, { kind: 'token', known: known('deactivated', 'current') }).action,
    'reactivate',
  );
  const fresh = decideActivation(existing, { kind: 'token', known: null });
  assert.equal(fresh.action, 'refuse');
  assert.match((fresh as { reason: string }).reason, /For existing computers/);
});

test('a live second copy is a clone: a computer of its own, or refused, as the setting says', () => {
  const stale = { kind: 'token', known: known('active', 'stale') } as const;
  assert.deepEqual(decideActivation(DEFAULTS, stale), { action: 'create-clone', originalId: 7 });
  assert.deepEqual(decideActivation(DEFAULTS, { kind: 'cloned', originalId: 7 }), {
    action: 'create-clone',
    originalId: 7,
  });
  const off = decideActivation(with_({ reactivateCloned: false }), stale);
  assert.deepEqual(
    [off.action, (off as { code: string }).code, (off as { cloneOf: number }).cloneOf],
    ['refuse', 'AGENT_CLONED', 7],
  );
  const existingOnly = decideActivation(with_({ allow: 'For existing computers' }), { kind: 'cloned', originalId: 7 });
  assert.equal((existingOnly as { code: string }).code, 'AGENT_CLONED');
});

test('an unknown agent (certificate from this CA, no record) activates again only if the setting allows', () => {
  assert.deepEqual(decideActivation(DEFAULTS, { kind: 'unknown', known: null }), { action: 'create' });
  assert.deepEqual(decideActivation(DEFAULTS, { kind: 'unknown', known: known('active', 'current') }), {
    action: 'reactivate',
    computerId: 7,
  });
  const off = decideActivation(with_({ reactivateUnknown: false }), { kind: 'unknown', known: null });
  assert.deepEqual([off.action, (off as { code: string }).code], ['refuse', 'ACTIVATION_NOT_ALLOWED']);
  assert.match((off as { reason: string }).reason, /reset the agent and activate it with a token/);
});
