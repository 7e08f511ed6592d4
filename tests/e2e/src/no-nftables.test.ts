import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AGENT_BIN, activateCommand } from './cli.js';
import { startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

/**
 * How long a one-shot command may take here before it counts as hung. A nft call that cannot
 * start used to keep the process alive for its whole 15 s timeout (issue 12, item 9); the
 * commands below finish in a second or two.
 */
const BOUND_MS = 10_000;

interface Bounded {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Still running at the bound (then killed). */
  hung: boolean;
}

/**
 * Runs the agent CLI as a real process on a host without nftables: a PATH with no `nft`, the
 * firewall on (the test runner turns it off for every suite). Killed at the bound, counted from
 * `armed` (default: at once); `output()` reads what it printed so far.
 */
function agentCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  armed: Promise<void> = Promise.resolve(),
): { pid: number; output: () => string; done: Promise<Bounded> } {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let hung = false;
  let timer: NodeJS.Timeout | undefined;
  void armed.then(() => {
    timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, BOUND_MS);
  });
  const done = new Promise<Bounded>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, hung });
    }),
  );
  return { pid: child.pid ?? 0, output: () => stdout + stderr, done };
}

describe('one-shot commands exit when their work is done on a host without nftables', () => {
  let m: TestManager;
  let env: NodeJS.ProcessEnv;
  let stateDir: string;

  before(async () => {
    m = await startTestManager();
    const root = m.tempDir('palisade-no-nft-');
    const emptyBin = join(root, 'bin');
    mkdirSync(emptyBin);
    stateDir = join(root, 'state');
    const { PALISADE_NFT: _ignored, ...rest } = process.env;
    env = { ...rest, PATH: emptyBin, PALISADE_AGENT_FIREWALL: 'on', PALISADE_LOG_LEVEL: 'info' };
  });
  after(() => m.close());

  test('activate, heartbeat, start + SIGTERM (the shutdown), reset: each exits 0 well before the nft timeout', async () => {
    const activated = await agentCli(activateCommand(m, stateDir), env).done;
    assert.equal(activated.hung, false, `activate still running after ${BOUND_MS} ms: ${activated.stderr}`);
    assert.equal(activated.code, 0, activated.stderr);
    assert.match(activated.stdout, /^Activated: computer \d+/m);
    // Its first words: it will enforce a host firewall, in its own table, and how not to.
    const notice =
      /^palisade-agent: warning: this agent enforces a host firewall: it writes nftables table inet palisade_[0-9a-f]{8} on this host .*run the agent with PALISADE_AGENT_FIREWALL=off\.$/m;
    assert.match(activated.stderr.split('\n')[0]!, notice);

    const beat = await agentCli(['heartbeat', '--state-dir', stateDir], env).done;
    assert.equal(beat.hung, false, `heartbeat still running after ${BOUND_MS} ms: ${beat.stderr}`);
    assert.equal(beat.code, 0, beat.stderr);

    // The daemon: SIGTERM once its first heartbeat is logged; the stop notice goes out in a last
    // heartbeat (which asks nft for the firewall's status again), then the process must end.
    let signal!: () => void;
    const signalled = new Promise<void>((r) => (signal = r));
    const daemon = agentCli(['start', '--state-dir', stateDir], env, signalled);
    await waitFor('the first heartbeat', () => /"msg":"heartbeat"/.test(daemon.output()), 30_000);
    process.kill(daemon.pid, 'SIGTERM');
    signal();
    const run = await daemon.done;
    assert.equal(run.hung, false, `the agent did not exit within ${BOUND_MS} ms of SIGTERM: ${run.stderr}`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /stop notice delivered to the manager/);
    assert.match(
      run.stderr.split('\n')[0]!,
      /"level":40,.*"msg":"this agent enforces a host firewall: .*PALISADE_AGENT_FIREWALL=off/,
    );

    // Turned off, it says nothing of the kind.
    const quiet = await agentCli(
      ['start', '--state-dir', stateDir],
      { ...env, PALISADE_AGENT_FIREWALL: 'off' },
      signalled,
    );
    await waitFor('the first heartbeat, firewall off', () => /"msg":"heartbeat"/.test(quiet.output()), 30_000);
    process.kill(quiet.pid, 'SIGTERM');
    const quietRun = await quiet.done;
    assert.equal(quietRun.code, 0, quietRun.stderr);
    assert.doesNotMatch(quietRun.stderr, /host firewall/);

    const reset = await agentCli(['reset', '--yes', '--state-dir', stateDir], env).done;
    assert.equal(reset.hung, false, `reset still running after ${BOUND_MS} ms: ${reset.stderr}`);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stderr, /could not remove the firewall table .*nftables is not installed/);
    assert.doesNotMatch(`${reset.stdout}${reset.stderr}${beat.stdout}`, /PATH=/);
  });
});
