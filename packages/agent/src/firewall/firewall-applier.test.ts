import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildSecurityConfiguration, configurationFingerprint } from '@palisade/core';
import { applyConfiguration } from '../configuration-applier.js';
import { buildReport } from '../report-builder.js';
import { StateDir } from '../state-dir.js';
import { firewallReport, withFirewallReport } from './firewall-report.js';

/**
 * The firewall through the agent's own hook: `applyConfiguration` (what heartbeats and activation
 * run) and the heartbeat report. nft is either absent from PATH or a stand-in script, never the
 * host's real one.
 */
describe('configuration applier: the firewall hook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-applier-'));
  const saved = {
    PATH: process.env.PATH,
    PALISADE_NFT: process.env.PALISADE_NFT,
    PALISADE_AGENT_FIREWALL: process.env.PALISADE_AGENT_FIREWALL,
  };
  let state: StateDir;

  before(() => {
    state = new StateDir(join(dir, 'state'));
    state.saveActivation(
      {
        manager: { host: 'manager.example.test', port: 4120 },
        computerId: 1,
        hostName: 'web-1',
        policyId: 1,
        policyName: 'Base Policy',
        caFingerprint: 'sha256:00',
        activatedAt: 0,
      },
      { key: 'k', cert: 'c', ca: 'a' },
    );
    // The test runner turns the firewall off for every suite; this one is about it.
    process.env.PALISADE_AGENT_FIREWALL = 'on';
    delete process.env.PALISADE_NFT;
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const configuration = (direction = 'Bidirectional') =>
    buildSecurityConfiguration({
      settings: { platformSettingAgentCommunicationsDirection: direction, firewallSettingState: 'On' } as never,
      heartbeatIntervalSeconds: 600,
    });

  test('nft missing from PATH: applied all the same, and the heartbeat reports the firewall driver offline with the reason', async () => {
    process.env.PATH = join(dir, 'empty-bin');
    const c = configuration();
    const fingerprint = await configurationFingerprint(c);
    assert.deepEqual(await applyConfiguration(state, c, fingerprint), { ok: true, fingerprint });
    assert.equal(state.appliedConfiguration()?.fingerprint, fingerprint);

    const report = await buildReport(state, withFirewallReport(await firewallReport(state), {}));
    assert.equal(report.drivers.length, 1);
    assert.equal(report.drivers[0]!.name, 'firewall');
    assert.equal(report.drivers[0]!.status, 'offline');
    assert.match(
      report.drivers[0]!.reason!,
      /^nftables is not installed: "nft" was not found on the PATH; install the nftables package \(or set PALISADE_NFT to the nft program\)$/,
    );
    assert.ok(!Object.keys(report.counters).some((k) => k.startsWith('firewall.')));
  });

  test("a driver the caller reports under the same name wins over the engine's", async () => {
    const inputs = withFirewallReport(await firewallReport(state), {
      drivers: () => [
        { name: 'firewall', status: 'online' },
        { name: 'listener', status: 'online' },
      ],
    });
    assert.deepEqual((await buildReport(state, inputs)).drivers, [
      { name: 'firewall', status: 'online' },
      { name: 'listener', status: 'online' },
    ]);
  });

  test('nft refusing the ruleset fails the operation with the reason, and the previous configuration stays applied', async () => {
    const bin = join(dir, 'refusing-bin');
    const nft = join(bin, 'nft');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      nft,
      "#!/bin/sh\ncat >/dev/null\necho 'Error: Could not process rule: No buffer space available' >&2\nexit 1\n",
    );
    chmodSync(nft, 0o755);
    process.env.PATH = `${bin}:/usr/bin:/bin`;
    const before = state.appliedConfiguration()?.fingerprint;
    const c = configuration('Manager Initiated');
    const r = await applyConfiguration(state, c, await configurationFingerprint(c));
    assert.equal(r.ok, false);
    assert.match(
      (r as { reason: string }).reason,
      /nftables refused the firewall rules \(the previous ones stay in force\): .*No buffer space available/,
    );
    assert.equal(state.appliedConfiguration()?.fingerprint, before);
  });
});
