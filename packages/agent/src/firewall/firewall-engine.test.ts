import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  buildSecurityConfiguration,
  configurationFingerprint,
  type FirewallRule,
  type SecurityConfiguration,
  validateFirewallRule,
} from '@palisade/core';
import { AGENT_INSTALL } from '@palisade/protocol';
import { applyConfiguration } from '../configuration-applier.js';
import { saveListenerSettings } from '../listener-settings.js';
import { StateDir } from '../state-dir.js';
import { FirewallEngine, firewallNotice, firewallTableFor } from './firewall-engine.js';

/**
 * A stand-in nft(8): logs its arguments and stdin, and answers as the test says. The real
 * binary is never run here — these tests must not change the host's firewall (the netns suite
 * applies rulesets for real, inside its own namespaces).
 */
function fakeNft(
  dir: string,
  name: string,
  behaviour: { apply?: 'ok' | 'eperm' | 'syntax'; list?: 'ok' | 'no-table' | 'no-table-once' },
): { command: string; calls: () => string[]; lastScript: () => string } {
  const log = join(dir, `${name}.log`);
  const script = join(dir, `${name}.stdin`);
  const listed = join(dir, `${name}.listed`);
  const counters = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'palisade', handle: 1 } },
      {
        counter: {
          family: 'inet',
          name: 'r_hidden-listening-port',
          table: 'palisade',
          handle: 2,
          packets: 3,
          bytes: 180,
        },
      },
      { counter: { family: 'inet', name: 'r_7', table: 'palisade', handle: 3, packets: 1, bytes: 60 } },
    ],
  });
  const sh = `#!/bin/sh
echo "$*" >> '${log}'
if [ "$1" = "-f" ]; then
  cat > '${script}'
  case '${behaviour.apply ?? 'ok'}' in
    eperm) echo '/dev/stdin:2:1-24: Error: Could not process rule: Operation not permitted' >&2; exit 1 ;;
    syntax) echo '/dev/stdin:9:5: Error: syntax error, unexpected junk' >&2; exit 1 ;;
  esac
  exit 0
fi
case '${behaviour.list ?? 'ok'}' in
  no-table) echo 'Error: No such file or directory' >&2; exit 1 ;;
  no-table-once) if [ ! -e '${listed}' ]; then touch '${listed}'; echo 'Error: No such file or directory' >&2; exit 1; fi ;;
esac
echo '${counters}'
`;
  const command = join(dir, name);
  writeFileSync(command, sh);
  chmodSync(command, 0o755);
  return {
    command,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
    lastScript: () => readFileSync(script, 'utf8'),
  };
}

const toPort = (port: number) => ({ destinationPortType: 'multiple', destinationPortMultiple: [String(port)] });

function rule(input: Record<string, unknown>) {
  const r = validateFirewallRule({ priority: 4, direction: 'incoming', ...input });
  if (!r.ok) assert.fail(r.problems.join('; '));
  return r.rule;
}

function config(
  o: { direction?: string; firewall?: 'On' | 'Off'; rules?: FirewallRule[] } = {},
): SecurityConfiguration {
  return buildSecurityConfiguration({
    settings: {
      platformSettingAgentCommunicationsDirection: o.direction ?? 'Bidirectional',
      firewallSettingState: o.firewall ?? 'On',
    } as never,
    heartbeatIntervalSeconds: 600,
    ...(o.rules ? { firewallRules: o.rules } : {}),
  });
}

describe('firewall engine: nft -f with the compiled table, driver status and counters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-fw-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('applies the compiled table in one nft -f, hidden rule included; the report is online with per-rule counters', async () => {
    const nft = fakeNft(dir, 'nft-ok', {});
    const engine = new FirewallEngine({ command: nft.command, enabled: true });
    const c = config({
      rules: [rule({ id: '7', name: 'ssh', action: 'allow', priority: 0, protocol: 'tcp', ...toPort(22) })],
    });
    assert.deepEqual(await engine.apply(c), { outcome: 'applied' });
    assert.deepEqual(nft.calls(), ['-f -']);
    const script = nft.lastScript();
    assert.equal(script, FirewallEngine.script(c));
    assert.match(script, /^add table inet palisade\ndelete table inet palisade\ntable inet palisade \{/m);
    assert.match(script, /tcp dport 4118 counter name r_hidden-listening-port accept/);
    assert.match(script, /tcp dport 22 counter name r_7 accept/);
    assert.deepEqual(await engine.report(c), {
      drivers: [{ name: 'firewall', status: 'online' }],
      counters: {
        'firewall.hidden-listening-port.packets': 3,
        'firewall.hidden-listening-port.bytes': 180,
        'firewall.7.packets': 1,
        'firewall.7.bytes': 60,
      },
    });
    assert.deepEqual(nft.calls().slice(1), ['-j list table inet palisade']);
  });

  test('firewall Off removes the table and reports no driver (nothing is expected to run)', async () => {
    const nft = fakeNft(dir, 'nft-off', {});
    const engine = new FirewallEngine({ command: nft.command, enabled: true });
    const c = config({
      firewall: 'Off',
      rules: [rule({ id: '7', name: 'ssh', action: 'deny', protocol: 'tcp', ...toPort(22) })],
    });
    assert.deepEqual(await engine.apply(c), { outcome: 'applied' });
    assert.equal(
      nft.lastScript(),
      '# Palisade host firewall: generated; apply with nft -f, which commits the file as one transaction.\nadd table inet palisade\ndelete table inet palisade\n',
    );
    assert.deepEqual(await engine.report(c), { drivers: [], counters: {} });
  });

  test('nft not installed: the configuration still applies (the listener guard enforces it); the driver is offline saying so', async () => {
    const engine = new FirewallEngine({ env: { PATH: join(dir, 'no-such-dir') }, enabled: true });
    const c = config();
    const applied = await engine.apply(c);
    assert.equal(applied.outcome, 'unavailable');
    assert.match(
      (applied as { reason: string }).reason,
      /^nftables is not installed: "nft" was not found on the PATH; install the nftables package \(or set PALISADE_NFT to the nft program\)$/,
    );
    const report = await engine.report(c);
    assert.deepEqual(report.counters, {});
    assert.equal(report.drivers.length, 1);
    assert.deepEqual({ ...report.drivers[0], reason: 'x' }, { name: 'firewall', status: 'offline', reason: 'x' });
    assert.match(report.drivers[0]!.reason!, /nftables is not installed/);
  });

  test('not permitted (EPERM: not root, no CAP_NET_ADMIN): unavailable, and the reason says what to do', async () => {
    const nft = fakeNft(dir, 'nft-eperm', { apply: 'eperm' });
    const applied = await new FirewallEngine({ command: nft.command, enabled: true }).apply(config());
    assert.equal(applied.outcome, 'unavailable');
    assert.match(
      (applied as { reason: string }).reason,
      /nft is not permitted to change the firewall: run the agent as root or give it CAP_NET_ADMIN \(.*Operation not permitted\)/,
    );
  });

  test("a ruleset nft refuses fails the apply with nft's message (the previous table stays)", async () => {
    const nft = fakeNft(dir, 'nft-syntax', { apply: 'syntax' });
    const applied = await new FirewallEngine({ command: nft.command, enabled: true }).apply(config());
    assert.equal(applied.outcome, 'failed');
    assert.match(
      (applied as { reason: string }).reason,
      /nftables refused the firewall rules \(the previous ones stay in force\): nft -f - failed: .*syntax error, unexpected junk/,
    );
  });

  test('rules that are not valid fail the apply before nft runs', async () => {
    const nft = fakeNft(dir, 'nft-invalid', {});
    const applied = await new FirewallEngine({ command: nft.command, enabled: true }).apply(
      config({ rules: [{ id: 'x', name: 'bad', action: 'deny', priority: 9, direction: 'incoming' } as never] }),
    );
    assert.equal(applied.outcome, 'failed');
    assert.match(
      (applied as { reason: string }).reason,
      /firewall rules are not valid: \[0\]\.priority: 9 is not a priority/,
    );
    assert.deepEqual(nft.calls(), []);
  });

  test('a table gone missing (reboot, removed by hand) is applied again by the next report', async () => {
    const nft = fakeNft(dir, 'nft-missing-table', { list: 'no-table-once' });
    const report = await new FirewallEngine({ command: nft.command, enabled: true }).report(config());
    assert.deepEqual(nft.calls(), ['-j list table inet palisade', '-f -', '-j list table inet palisade']);
    assert.equal(report.drivers[0]!.status, 'online');
    assert.match(nft.lastScript(), /r_hidden-listening-port/);
  });

  test('remove() (agent reset) deletes the table whatever was applied', async () => {
    const nft = fakeNft(dir, 'nft-remove', {});
    assert.deepEqual(await new FirewallEngine({ command: nft.command, enabled: true }).remove(), {
      outcome: 'applied',
    });
    assert.equal(nft.lastScript(), FirewallEngine.script(config({ firewall: 'Off' })));
    const missing = await new FirewallEngine({ env: { PATH: join(dir, 'no-such-dir') }, enabled: true }).remove();
    assert.equal(missing.outcome, 'unavailable');
  });

  test('disabled (PALISADE_AGENT_FIREWALL=off): nft never runs and no driver is reported', async () => {
    const nft = fakeNft(dir, 'nft-disabled', {});
    const engine = new FirewallEngine({ command: nft.command, env: { PALISADE_AGENT_FIREWALL: 'off' } });
    assert.equal(engine.enabled, false);
    assert.deepEqual(await engine.apply(config()), { outcome: 'disabled' });
    assert.deepEqual(await engine.report(config()), { drivers: [], counters: {} });
    assert.deepEqual(nft.calls(), []);
    assert.equal(new FirewallEngine({ env: {} }).enabled, true, 'on unless turned off');
  });
});

describe('one table per state directory; the listening port the host uses; the notice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-fw-tables-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('two agents on one host (two state directories) each write and read their own table', async () => {
    assert.equal(firewallTableFor(AGENT_INSTALL.stateDir), 'palisade', 'the installed agent keeps inet palisade');
    const one = new StateDir(join(dir, 'agent-one'));
    const two = new StateDir(join(dir, 'agent-two'));
    const [t1, t2] = [firewallTableFor(one.dir), firewallTableFor(two.dir)];
    assert.match(t1, /^palisade_[0-9a-f]{8}$/);
    assert.match(t2, /^palisade_[0-9a-f]{8}$/);
    assert.notEqual(t1, t2);
    assert.equal(firewallTableFor(new StateDir(join(dir, 'agent-one', '.')).dir), t1, 'stable for a directory');

    const nft = fakeNft(dir, 'nft-two-agents', {});
    for (const [state, table] of [
      [one, t1],
      [two, t2],
    ] as const) {
      const engine = FirewallEngine.forState(state, { command: nft.command, enabled: true });
      assert.equal(engine.table, `inet ${table}`);
      assert.deepEqual(await engine.apply(config()), { outcome: 'applied' });
      const script = nft.lastScript();
      assert.match(
        script,
        new RegExp(`^add table inet ${table}\ndelete table inet ${table}\ntable inet ${table} {`, 'm'),
      );
      assert.doesNotMatch(script, /table inet palisade[ \n]/, "never the other agents' table");
      // The fake lists counters of table "palisade" only: none of them is this agent's.
      assert.deepEqual(await engine.report(config()), {
        drivers: [{ name: 'firewall', status: 'online' }],
        counters: {},
      });
      assert.deepEqual(await engine.remove(), { outcome: 'applied' });
      assert.match(nft.lastScript(), new RegExp(`delete table inet ${table}\n$`));
    }
    assert.deepEqual(
      nft.calls().filter((c) => c.startsWith('-j')),
      [`-j list table inet ${t1}`, `-j list table inet ${t2}`],
    );
  });

  test("a local --listen-port moves the hidden rule in the table; the fingerprint stays the manager's", async () => {
    const state = new StateDir(join(dir, 'agent-local-port'));
    saveListenerSettings(state, { port: 4999 });
    const nft = fakeNft(dir, 'nft-local-port', {});
    const c = config();
    const fingerprint = await configurationFingerprint(c);
    const engine = FirewallEngine.forState(state, { command: nft.command, enabled: true });
    assert.deepEqual(await applyConfiguration(state, c, fingerprint, engine), { ok: true, fingerprint });
    assert.match(nft.lastScript(), /tcp dport 4999 counter name r_hidden-listening-port accept/);
    assert.doesNotMatch(nft.lastScript(), /4118/);
    const stored = state.appliedConfiguration()?.configuration as SecurityConfiguration | undefined;
    assert.equal(stored?.communication.listeningPort, 4118, 'stored as sent');
  });

  test('activate and start warn that the agent enforces a host firewall, unless it is off', () => {
    const state = join(dir, 'agent-notice');
    const notice = firewallNotice(state, {});
    assert.ok(notice);
    assert.match(notice, new RegExp(`nftables table inet ${firewallTableFor(state)}`));
    assert.match(notice, /PALISADE_AGENT_FIREWALL=off/);
    assert.equal(firewallNotice(state, { PALISADE_AGENT_FIREWALL: 'off' }), null);
  });
});
