import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { AGENT_BIN, runCli } from './cli.js';

import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

/**
 * Damaged agent state, as a power cut or a careless edit leaves it, with the real CLI: the
 * informational files (written without fsync) are rebuilt with a warning; credentials that
 * cannot be used are one line naming the file, never a stack trace.
 */
describe('agent state faults', () => {
  let m: TestManager;
  let state: StateDir;
  const cli = (...args: string[]) => runCli(AGENT_BIN, [...args, '--state-dir', state.dir]);

  before(async () => {
    m = await startTestManager();
    state = await activateTestAgent(m, { hostName: 'faulty' });
    const first = await cli('heartbeat');
    assert.equal(first.code, 0, first.stderr);
  });
  after(() => m.close());

  test('an empty counters.json and a torn last-contact.json: status and heartbeat exit 0 with a warning, and the files are rebuilt', async () => {
    writeFileSync(state.path('counters.json'), '');
    writeFileSync(state.path('last-contact.json'), '{"time": 17000');
    const status = await cli('status');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, /^palisade-agent: warning: .*counters\.json could not be read \(.*\); rebuilt: /m);
    assert.match(status.stderr, /^palisade-agent: warning: .*last-contact\.json could not be read/m);
    assert.match(status.stdout, /last contact: never/);
    assert.match(status.stdout, /counters: heartbeatsSent=0 /);

    writeFileSync(state.path('counters.json'), '{"heartbeatsSent": "many"}');
    writeFileSync(state.path('last-contact.json'), '\0\0\0\0');
    const beat = await cli('heartbeat');
    assert.equal(beat.code, 0, beat.stderr);
    assert.match(beat.stderr, /counters\.json could not be read \(unexpected content\)/);
    const counters = JSON.parse(readFileSync(state.path('counters.json'), 'utf8'));
    assert.equal(counters.heartbeatsSent, 1, 'counted again from 0');
    assert.equal(JSON.parse(readFileSync(state.path('last-contact.json'), 'utf8')).ok, true);

    // The manager hears of it too: the warning went out as an event with the heartbeat.
    const events = await m.api('GET', `/api/events?type=agent.state.rebuilt`);
    assert.equal(events.status, 200, JSON.stringify(events.body));
    const mine = events.json<V['EventPage']>().events.filter((e) => e.type === 'agent.state.rebuilt');
    assert.ok(
      mine.some((e) => /counters\.json/.test(e.message)),
      JSON.stringify(events.body),
    );
  });

  test("a key that is not PEM, and a key that is not the certificate's: one line naming the file, exit 1, no stack", async () => {
    const original = readFileSync(state.path('agent.key'), 'utf8');
    try {
      writeFileSync(state.path('agent.key'), 'this is not a key\n');
      const garbled = await cli('heartbeat');
      assert.equal(garbled.code, 1);
      assert.match(
        garbled.stderr,
        /^palisade-agent: the state directory is damaged: .*agent\.key is not a PEM private key \(.*\); run "palisade-agent reset --yes" and activate again\n$/,
      );

      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      });
      writeFileSync(state.path('agent.key'), other);
      const mismatched = await cli('heartbeat');
      assert.equal(mismatched.code, 1);
      assert.match(
        mismatched.stderr,
        /^palisade-agent: the state directory is damaged: .*agent\.key is not the key of the certificate in .*agent\.crt; run "palisade-agent reset --yes" and activate again\n$/,
      );
    } finally {
      writeFileSync(state.path('agent.key'), original, { mode: 0o600 });
    }
    const healed = await cli('heartbeat');
    assert.equal(healed.code, 0, healed.stderr);
  });
});
