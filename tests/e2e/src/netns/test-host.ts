import { type ChildProcess, execFile, spawnSync } from 'node:child_process';
import type { LabHost, NetnsLab, RunResult } from './netns-lab.js';

/**
 * The folders an installed agent writes to (docs/deployment.md, "Where an installed agent
 * lives"), plus /run/systemd: each gets an empty tmpfs in the test host, so the host's own are
 * never touched, and without /run/systemd/system the host looks like one systemd did not boot
 * (the script's pid-file path, as in containers and CI).
 */
export const TEST_HOST_TMPFS = ['/opt', '/var/lib', '/etc/systemd/system', '/usr/local/bin', '/run/systemd'] as const;

/** A PATH like a host's root shell has. */
export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why this machine cannot make test hosts (beside the lab's own needs), or null. */
export function testHostUnavailable(): string | null {
  for (const [bin, pkg] of [
    ['unshare', 'util-linux'],
    ['nsenter', 'util-linux'],
    ['curl', 'curl'],
    ['sha256sum', 'coreutils'],
  ] as const) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `"${bin}" is not available (apt-get install -y ${pkg})`;
  }
  return null;
}

/**
 * A test host: a network namespace of the lab (its address, and /etc/hosts from the lab's
 * hosts file, which `ip netns exec` binds) and a mount namespace of its own (`unshare -m`,
 * private propagation) with an empty tmpfs over each of {@link TEST_HOST_TMPFS} and /dev/null
 * over the Node.js binary, so whatever runs there runs without Node.js, and whatever it
 * installs disappears with the namespace. A `sleep` holds the namespaces; commands join them
 * with nsenter. Each `TestHost` is a fresh machine; the lab's `down()` kills what is left in
 * its network namespace.
 */
export class TestHost {
  private constructor(
    private readonly holder: ChildProcess,
    readonly pid: number,
  ) {}

  static async start(lab: NetnsLab, host: LabHost, nodeBinary = process.execPath): Promise<TestHost> {
    const mounts = [
      ...TEST_HOST_TMPFS.map((d) => `if [ -d ${d} ]; then mount -t tmpfs -o mode=0755 tmpfs ${d}; fi`),
      `mount --bind /dev/null ${nodeBinary}`,
    ].join(' && ');
    const holder = lab.spawn(host, [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      `${mounts} && echo ready && exec sleep infinity`,
    ]);
    let err = '';
    holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`test host did not start: ${err}`)), 20_000);
      holder.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      holder.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`test host exited (${code}): ${err}`));
      });
    });
    return new TestHost(holder, holder.pid!);
  }

  /** Runs `argv` on the host (its network and mount namespaces), as root, with a plain root PATH. */
  run(
    argv: readonly string[],
    o: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
  ): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = execFile(
        'nsenter',
        ['-t', String(this.pid), '-m', '-n', '--', ...argv],
        {
          env: { PATH: HOST_PATH, HOME: '/root', LANG: 'C.UTF-8', ...o.env },
          timeout: o.timeoutMs ?? 120_000,
          maxBuffer: 16 << 20,
        },
        (e, stdout, stderr) => {
          const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (o.input !== undefined) child.stdin!.end(o.input);
      else child.stdin!.end();
    });
  }

  /** `sh -c SCRIPT` on the host; fails the test with the output unless it exits 0. */
  async sh(script: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const r = await this.run(['sh', '-c', script], { env });
    if (r.code !== 0) throw new Error(`on the test host, "${script}" exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Every path under the folders an agent installs into (empty when nothing is installed). */
  async installedFiles(): Promise<string[]> {
    const out = await this.sh(`find ${TEST_HOST_TMPFS.join(' ')} -mindepth 1 2>/dev/null || true`);
    return out.split('\n').filter(Boolean).sort();
  }

  /** Stops the namespace holder (processes still inside are the lab's to kill). */
  stop(): void {
    if (this.holder.exitCode === null && this.holder.signalCode === null) this.holder.kill('SIGKILL');
  }
}
