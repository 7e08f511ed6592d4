import { type ChildProcess, execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** systemd's own binary, started as PID 1 of a test host booted with systemd. */
export const SYSTEMD_BINARY = '/lib/systemd/systemd';

/**
 * Beside {@link TEST_HOST_TMPFS}, a host booted with systemd gets an empty tmpfs over the
 * folders systemd writes at boot (/run, the journal under /var/log, /tmp, /var/tmp) and over
 * the generator folders, so no generator turns this machine's fstab or crypttab into units.
 */
const SYSTEMD_HOST_TMPFS = [
  '/run',
  '/tmp',
  '/var/tmp',
  '/var/log',
  '/lib/systemd/system-generators',
  '/usr/lib/systemd/system-generators',
  '/etc/systemd/system-generators',
] as const;

/** The only units of the distribution a test host's systemd may start: the journal. */
const ALLOWED_BOOT_UNITS = /^systemd-journald(-dev-log|-audit)?\.(service|socket)$/;

/**
 * What the test host's /etc/systemd/system (an empty tmpfs) holds before systemd starts: the
 * boot target, empty `sysinit.target`/`basic.target` files, and a mask (a link to /dev/null,
 * systemd.unit(5)) over every unit the distribution wants at early boot but the journal. A
 * service with default dependencies (as the agent's unit) pulls in sysinit.target, and what
 * that wants would act on the machine itself: systemd-tmpfiles-setup empties /tmp,
 * systemd-sysctl and systemd-binfmt write the kernel's settings, systemd-remount-fs remounts /.
 * The list is read from the distribution's folders when the host starts, so units a newer
 * systemd adds are masked too.
 */
function systemdBootSetup(): string {
  const masked = new Set<string>();
  for (const base of ['/lib/systemd/system', '/usr/lib/systemd/system', '/etc/systemd/system'])
    for (const target of ['sysinit', 'basic', 'sockets', 'local-fs', 'timers', 'paths', 'swap', 'cryptsetup']) {
      const dir = `${base}/${target}.target.wants`;
      if (!existsSync(dir)) continue;
      for (const unit of readdirSync(dir)) if (!ALLOWED_BOOT_UNITS.test(unit)) masked.add(unit);
    }
  for (const unit of ['systemd-tmpfiles-setup.service', 'systemd-remount-fs.service', 'systemd-sysctl.service'])
    masked.add(unit);
  const files: Record<string, string> = {
    'palisade-test-boot.target': '[Unit]\nDescription=Palisade test host\n',
    'sysinit.target': '[Unit]\nDescription=System Initialization (test host: nothing)\n',
    'basic.target': '[Unit]\nDescription=Basic System (test host: nothing)\n',
  };
  return [
    ...Object.entries(files).map(([name, body]) => `printf '${body}' > /etc/systemd/system/${name}`),
    ...[...masked].sort().map((u) => `ln -s /dev/null /etc/systemd/system/${u}`),
  ].join(' && ');
}

/** This machine's cgroup2 hierarchy: alone at /sys/fs/cgroup, or beside v1 ones at .../unified. */
function cgroup2Root(): string {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
}

/**
 * Shell for the host's PID 1, before it becomes systemd: a cgroup2 cgroup of its own (`name`),
 * and itself moved in, so the cgroup namespace made next has that cgroup for its root (the
 * hierarchy is mounted first: `ip netns exec` gave the test host a sysfs with nothing under
 * /sys/fs/cgroup). Without it the host's systemd would take this machine's root cgroup for its
 * own: its units' cgroups would be made beside this machine's, and stopping them would act on
 * processes of this machine (cgroup_namespaces(7); container managers do the same).
 */
function cgroupSetup(name: string): string {
  const root = cgroup2Root();
  const mount =
    root === '/sys/fs/cgroup'
      ? ['mount -t cgroup2 cgroup2 /sys/fs/cgroup']
      : [
          'mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup',
          'mkdir /sys/fs/cgroup/unified',
          `mount -t cgroup2 cgroup2 ${root}`,
        ];
  return [...mount, `mkdir ${root}/${name}`, `echo $$ > ${root}/${name}/cgroup.procs`].join(' && ');
}

/**
 * Shell run inside the new cgroup namespace: only a cgroup2 file system at /sys/fs/cgroup, which
 * shows the host's own cgroup as its root. systemd then runs in its unified mode and never
 * mounts (nor makes cgroups in) this machine's v1 controller hierarchies, whose namespace roots
 * would be this machine's own cgroups.
 */
function cgroupMounts(): string {
  const unmount =
    cgroup2Root() === '/sys/fs/cgroup'
      ? ['umount /sys/fs/cgroup']
      : ['umount /sys/fs/cgroup/unified', 'umount /sys/fs/cgroup'];
  return [...unmount, 'mount -t cgroup2 cgroup2 /sys/fs/cgroup'].join(' && ');
}

/** Removes a host's cgroup once its processes are gone (rmdir, deepest first; cgroups(7)). */
function removeCgroup(name: string): void {
  const dir = `${cgroup2Root()}/${name}`;
  for (let i = 0; i < 50 && existsSync(dir); i++) {
    spawnSync('sh', ['-c', `find ${dir} -depth -type d -exec rmdir {} + 2>/dev/null`]);
    if (existsSync(dir)) spawnSync('sleep', ['0.1']);
  }
}
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

/** Why this machine cannot boot test hosts with systemd (beside {@link testHostUnavailable}), or null. */
export function systemdHostUnavailable(): string | null {
  if (!existsSync(SYSTEMD_BINARY)) return `${SYSTEMD_BINARY} is not installed (apt-get install -y systemd)`;
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
 *
 * With `systemd: true` the host is booted: a PID namespace too (`unshare --pid --fork
 * --mount-proc`) whose PID 1 is systemd itself (`container=` set, as container managers do,
 * systemd(1)), started on a target of its own with the distribution's boot units masked (see
 * {@link systemdBootSetup}), so `systemctl` on the host talks to that systemd and services it
 * starts live and die with the host.
 */
export class TestHost {
  private constructor(
    private readonly holder: ChildProcess,
    readonly pid: number,
    /** Whether the host has a PID namespace of its own (booted with systemd). */
    private readonly ownPids: boolean,
    /** The cgroup made for the host's systemd (a folder name in each hierarchy), or null. */
    private readonly cgroup: string | null = null,
  ) {}

  /** Hosts booted with systemd by this process, for unique cgroup names. */
  private static booted = 0;

  static async start(
    lab: NetnsLab,
    host: LabHost,
    nodeBinary = process.execPath,
    o: { systemd?: boolean } = {},
  ): Promise<TestHost> {
    const tmpfs = o.systemd ? [...SYSTEMD_HOST_TMPFS, ...TEST_HOST_TMPFS] : TEST_HOST_TMPFS;
    const mounts = [
      ...tmpfs.map((d) => `if [ -d ${d} ]; then mount -t tmpfs -o mode=0755 tmpfs ${d}; fi`),
      `mount --bind /dev/null ${nodeBinary}`,
      ...(o.systemd ? [systemdBootSetup()] : []),
    ].join(' && ');
    const cgroup = o.systemd ? `palisade-test-${process.pid}-${++TestHost.booted}` : null;
    const init = cgroup
      ? `${cgroupSetup(cgroup)} && echo ready && exec unshare --cgroup sh -c '${cgroupMounts()} && exec env -i container=palisade-test ${SYSTEMD_BINARY} --system --unit=palisade-test-boot.target'`
      : 'echo ready && exec sleep infinity';
    const holder = lab.spawn(host, [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      ...(o.systemd ? ['--pid', '--fork', '--mount-proc'] : []),
      '--',
      'sh',
      '-c',
      `${mounts} && ${init}`,
    ]);
    let err = '';
    // systemd logs to its stdout in a container: keep the pipes drained, the tail kept for errors.
    const keep = (d: Buffer) => (err = (err + d.toString()).slice(-8192));
    holder.stderr!.on('data', keep);
    if (o.systemd) holder.stdout!.on('data', keep);
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
    if (!o.systemd) return new TestHost(holder, holder.pid!, false);
    // unshare --fork: PID 1 of the new namespace is unshare's child (it printed `ready`), systemd.
    const child = Number(
      readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').trim().split(/\s+/)[0],
    );
    if (!Number.isInteger(child) || child <= 1) {
      holder.kill('SIGKILL');
      throw new Error(`the test host's PID 1 was not found under ${holder.pid}: ${err}`);
    }
    const booted = new TestHost(holder, child, true, cgroup);
    // `offline` until systemd has made its private socket; `--wait` then waits out the boot.
    let up = { code: 1, stdout: '', stderr: '' };
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      up = await booted.run(['systemctl', 'is-system-running', '--wait'], { timeoutMs: 60_000 });
      if (up.stdout.trim() !== 'offline') break;
    }
    if (!['running', 'degraded'].includes(up.stdout.trim())) {
      booted.stop();
      throw new Error(`systemd on the test host did not boot (${up.stdout.trim()} ${up.stderr.trim()}): ${err}`);
    }
    return booted;
  }

  /** Services the host's systemd started (active or failed), by unit name. */
  async services(): Promise<string[]> {
    const out = await this.sh('systemctl list-units --type=service --all --plain --no-legend --state=active,failed');
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter(Boolean)
      .sort();
  }

  /** Runs `argv` on the host (its network and mount namespaces), as root, with a plain root PATH. */
  run(
    argv: readonly string[],
    o: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
  ): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = execFile(
        'nsenter',
        ['-t', String(this.pid), '-m', '-n', ...(this.ownPids ? ['-p'] : []), '--', ...argv],
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
    // PID 1 of the host's namespace: the kernel kills every process of the namespace with it.
    // (Never `kill 0` or `kill 1`: the pid is checked when the host starts.)
    if (this.ownPids && this.pid > 1) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {}
      if (this.cgroup) removeCgroup(this.cgroup);
    }
    if (this.holder.exitCode === null && this.holder.signalCode === null) this.holder.kill('SIGKILL');
  }
}
