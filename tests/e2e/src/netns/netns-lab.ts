import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

/** The test hosts: names, addresses and MACs on one bridged segment. */
export type LabHost = 'manager' | 'agent' | 'other';
const HOST_NUMBER: Record<LabHost, number> = { manager: 1, agent: 2, other: 3 };
/** The address the test process itself gets on the segment, to reach the manager's API. */
const CONSOLE_NUMBER = 254;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Why this machine cannot build the lab (not Linux, not root, `ip` or `nft` missing), or null.
 */
export function netnsLabUnavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (ip netns add, nft)';
  for (const [bin, arg, pkg] of [
    ['ip', '-V', 'iproute2'],
    ['nft', '--version', 'nftables'],
  ] as const) {
    const r = spawnSync(bin, [arg], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `"${bin}" is not available (apt-get install -y ${pkg})`;
  }
  return null;
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Test hosts built from network namespaces: a switch namespace holding a bridge, and the
 * manager, agent and other host each in a namespace of its own with one veth port on that
 * bridge; the test process joins the segment through one more veth so it can reach the
 * manager's API. Addresses come only from 198.18.0.0/15 (RFC 2544's benchmarking block, never
 * routed), one free /24 per run; names carry the test process id so two runs never meet.
 *
 * `down()` (and, if the process dies first, an exit hook) stops every process started here and
 * deletes every namespace, which takes the veth pairs with it.
 */
export class NetnsLab {
  readonly prefix = `palfw${process.pid}`;
  readonly subnet: string;
  private readonly children: ChildProcess[] = [];
  private created: string[] = [];
  private readonly onExit = () => this.downSync();

  constructor() {
    this.subnet = NetnsLab.freeSubnet();
  }

  /** 198.18.N where no address of the root namespace is in 198.18.N.0/24. */
  private static freeSubnet(): string {
    const used = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
    for (let i = 0; i < 250; i++) {
      const n = ((process.pid + i) % 250) + 1;
      if (!used.includes(`198.18.${n}.`)) return `198.18.${n}`;
    }
    throw new Error('no free /24 in 198.18.0.0/16');
  }

  ns(host: LabHost | 'switch'): string {
    return `${this.prefix}-${host === 'switch' ? 'sw' : host}`;
  }

  ip(host: LabHost | 'console'): string {
    return `${this.subnet}.${host === 'console' ? CONSOLE_NUMBER : HOST_NUMBER[host]}`;
  }

  mac(host: LabHost): string {
    const n = Number(this.subnet.split('.')[2]).toString(16).padStart(2, '0');
    return `02:00:c6:12:${n}:0${HOST_NUMBER[host]}`;
  }

  /** Builds the segment. Names in `hosts` resolve inside each host namespace (`ip netns exec` mounts /etc/netns/NS/hosts). */
  up(hosts: Record<string, LabHost>): void {
    process.once('exit', this.onExit);
    const sw = this.ns('switch');
    for (const ns of [sw, ...(['manager', 'agent', 'other'] as const).map((h) => this.ns(h))]) {
      ip(['netns', 'add', ns]);
      this.created.push(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    const hostsFile = [
      '127.0.0.1 localhost',
      ...Object.entries(hosts).map(([name, h]) => `${this.ip(h)} ${name}`),
    ].join('\n');
    for (const h of ['manager', 'agent', 'other'] as const) {
      const ns = this.ns(h);
      const a = `pf${process.pid}${h[0]}x`;
      const b = `pf${process.pid}${h[0]}y`;
      ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      ip(['link', 'set', a, 'netns', ns]);
      ip(['link', 'set', b, 'netns', sw]);
      ip(['-n', ns, 'link', 'set', a, 'name', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'address', this.mac(h)]);
      ip(['-n', ns, 'addr', 'add', `${this.ip(h)}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', sw, 'link', 'set', b, 'master', 'br0']);
      ip(['-n', sw, 'link', 'set', b, 'up']);
      mkdirSync(`/etc/netns/${ns}`, { recursive: true });
      writeFileSync(`/etc/netns/${ns}/hosts`, `${hostsFile}\n`);
    }
    // The console port: its far end sits in the switch namespace, so deleting that takes it too.
    const c = `pf${process.pid}c`;
    ip(['link', 'add', c, 'type', 'veth', 'peer', 'name', `${c}y`]);
    ip(['link', 'set', `${c}y`, 'netns', sw]);
    ip(['-n', sw, 'link', 'set', `${c}y`, 'master', 'br0']);
    ip(['-n', sw, 'link', 'set', `${c}y`, 'up']);
    ip(['addr', 'add', `${this.ip('console')}/24`, 'dev', c]);
    ip(['link', 'set', c, 'up']);
  }

  /** Runs a command inside a host namespace and waits for it. */
  run(
    host: LabHost,
    argv: readonly string[],
    o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    return new Promise((resolve) => {
      execFile(
        'ip',
        ['netns', 'exec', this.ns(host), ...argv],
        { env: o.env ?? process.env, timeout: o.timeoutMs ?? 60_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** Starts a long-running process inside a host namespace; `down()` stops it. (`ip netns exec` execs it: same pid.) */
  spawn(host: LabHost, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** Stops a process started here: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(child: ChildProcess, graceMs = 8_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async down(): Promise<void> {
    for (const c of this.children) await this.stop(c);
    this.downSync();
  }

  /** Kills what is left in our namespaces (all started by this lab), deletes them and their hosts files. */
  downSync(): void {
    for (const c of this.children) {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null && isAlive(c.pid)) c.kill('SIGKILL');
    }
    for (const ns of this.created) {
      const pids =
        spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean).map(Number) ??
        [];
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    spawnSync('ip', ['link', 'del', `pf${process.pid}c`], { stdio: 'ignore' });
    this.created = [];
    process.removeListener('exit', this.onExit);
  }

  /** Namespaces this suite left behind in an earlier run that died (its process is gone). */
  static sweepStale(): string[] {
    const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    const swept: string[] = [];
    for (const line of list.split('\n')) {
      const m = /^(palfw(\d+)-[a-z]+)\b/.exec(line.trim());
      if (!m || isAlive(Number(m[2]))) continue;
      spawnSync('ip', ['netns', 'del', m[1]!]);
      rmSync(`/etc/netns/${m[1]}`, { recursive: true, force: true });
      spawnSync('ip', ['link', 'del', `pf${m[2]}c`], { stdio: 'ignore' });
      swept.push(m[1]!);
    }
    return swept;
  }
}
