import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/** How the agent runs nft(8). */
export interface NftOptions {
  /**
   * The nft program: a path, or a name looked up on the `PATH` of `env`. Default: the
   * `PALISADE_NFT` environment variable, else `nft`.
   */
  readonly command?: string;
  /** Environment nft runs with (its `PATH` decides where a bare name is found). Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default 15 s: a ruleset of 10,000 rules loads in well under a second. */
  readonly timeoutMs?: number;
}

/**
 * `missing`: nft is not installed (not on PATH). `not-permitted`: the kernel refused the netlink
 * request (EPERM: not root and no CAP_NET_ADMIN). `no-table`: the table asked about does not
 * exist. `failed`: anything else (nft's own message in `reason`).
 */
export type NftFailure = 'missing' | 'not-permitted' | 'no-table' | 'failed';

export type NftResult =
  | { readonly ok: true; readonly stdout: string }
  | { readonly ok: false; readonly failure: NftFailure; readonly reason: string };

export function nftCommand(o: NftOptions): string {
  return o.command ?? (o.env ?? process.env).PALISADE_NFT ?? 'nft';
}

/** nft's message without its echo of the offending line and caret marks; a few lines at most. */
function firstLines(text: string, n = 4): string {
  const lines = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !/^\s*\^+\s*$/.test(l));
  return lines.slice(0, n).join(' | ').slice(0, 900);
}

/**
 * Runs `nft ARGS`, feeding `input` on stdin (for `-f -`), and classifies a failure so the driver
 * status can say what the operator has to do.
 */
export function runNft(args: readonly string[], input: string | null, o: NftOptions = {}): Promise<NftResult> {
  const command = nftCommand(o);
  const env = o.env ?? process.env;
  return new Promise((resolve) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ ok: false, failure: 'failed', reason: `cannot run ${command}: ${(e as Error).message}` });
      return;
    }
    // Our own timer rather than spawn's `timeout` option: Node clears that one only when the
    // child exits, and a child that never started (ENOENT) never does, so the timer kept every
    // one-shot command alive for the whole timeout after its work was done.
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 15_000);
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (r: NftResult) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        done({
          ok: false,
          failure: 'missing',
          // The PATH itself stays out: it can be long, and it is the host's business, not the manager's.
          reason: `nftables is not installed: "${command}" was not found on the PATH; install the nftables package (or set PALISADE_NFT to the nft program)`,
        });
      } else if (e.code === 'EACCES') {
        done({ ok: false, failure: 'not-permitted', reason: `"${command}" cannot be executed (EACCES)` });
      } else {
        done({ ok: false, failure: 'failed', reason: `cannot run ${command}: ${e.message}` });
      }
    });
    // EPIPE when nft exits before reading its input: the exit status tells what happened.
    child.stdin.on('error', () => {});
    child.on('close', (code, signal) => {
      if (code === 0) return done({ ok: true, stdout });
      const message = firstLines(stderr) || (signal ? `killed by ${signal}` : `exit status ${code}`);
      // libnftables reports the kernel's errno as strerror text (netlink: "Operation not permitted").
      if (/Operation not permitted|Permission denied/i.test(stderr)) {
        return done({
          ok: false,
          failure: 'not-permitted',
          reason: `nft is not permitted to change the firewall: run the agent as root or give it CAP_NET_ADMIN (${message})`,
        });
      }
      if (/No such file or directory/.test(stderr) && args.includes('list')) {
        return done({ ok: false, failure: 'no-table', reason: message });
      }
      done({ ok: false, failure: 'failed', reason: `nft ${args.join(' ')} failed: ${message}` });
    });
    child.stdin.end(input ?? '');
  });
}
