import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AGENT_INSTALL } from '@palisade/protocol';

const UNIT = fileURLToPath(new URL('../packaging/palisade-agent.service', import.meta.url));
const text = readFileSync(UNIT, 'utf8');
/** Every `Key=value` of the unit, in order (a key may repeat). */
const directives = text
  .split('\n')
  .filter((l) => /^[A-Za-z]+=/.test(l))
  .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
const value = (k: string) => directives.filter(([key]) => key === k).map(([, v]) => v);

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyze =
  analyze.error || analyze.status !== 0 ? 'systemd-analyze is missing (apt-get install systemd)' : false;
if (noAnalyze && process.env.CI === 'true') throw new Error(`CI must run the unit check: ${noAnalyze}`);

describe('the systemd unit in the agent package', () => {
  test('starts the installed layout: current/palisade-agent with the state directory', () => {
    assert.deepEqual(value('ExecStart'), [
      `${AGENT_INSTALL.root}/current/palisade-agent start --state-dir ${AGENT_INSTALL.stateDir}`,
    ]);
    assert.deepEqual(value('Restart'), ['on-failure']);
    assert.deepEqual(value('StandardOutput'), ['journal']);
  });

  test('is hardened as docs/deployment.md says: no new privileges, read-only system, two capabilities', () => {
    assert.deepEqual(value('NoNewPrivileges'), ['yes']);
    assert.deepEqual(value('ProtectSystem'), ['strict']);
    assert.deepEqual(value('ReadWritePaths'), [`${AGENT_INSTALL.stateDir} ${AGENT_INSTALL.root}`]);
    assert.deepEqual(value('CapabilityBoundingSet'), ['CAP_NET_ADMIN CAP_NET_BIND_SERVICE']);
    assert.deepEqual(value('RestrictAddressFamilies'), ['AF_UNIX AF_INET AF_INET6 AF_NETLINK']);
    // V8 needs writable executable memory: the unit must not deny it, or the agent cannot start.
    assert.deepEqual(value('MemoryDenyWriteExecute'), []);
  });

  test('systemd-analyze verify passes (ExecStart pointed at a stand-in executable)', { skip: noAnalyze }, () => {
    // verify checks that ExecStart exists; the real path exists only once installed (the
    // deployment test verifies the installed unit as it is, inside its test host).
    const dir = mkdtempSync(join(tmpdir(), 'palisade-unit-'));
    try {
      const exe = join(dir, 'palisade-agent');
      writeFileSync(exe, '#!/bin/sh\n');
      chmodSync(exe, 0o755);
      const unit = join(dir, 'palisade-agent.service');
      writeFileSync(unit, text.replace(`${AGENT_INSTALL.root}/current/palisade-agent`, exe));
      const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      assert.equal(r.status, 0, `systemd-analyze verify: ${r.stderr}${r.stdout}`);
      assert.equal(r.stderr.trim(), '', `no warnings expected: ${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
