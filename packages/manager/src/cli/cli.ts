import { resolve } from 'node:path';
import { DEFAULT_DIALER_CONCURRENCY, MAX_DIALER_CONCURRENCY } from '../dialer/dialer.js';
import { scavengeOnMainThread } from '../gc-tuning.js';
import {
  defaultHostnames,
  FIRST_RUN_TOKEN_HOURS,
  FIRST_RUN_TOKEN_USES,
  type RunningManager,
  startManager,
} from '../manager.js';
import { hashSecret, newSecret } from '../secrets.js';
import { type Out, parseOptions, parsePort, parsePositiveInt, UsageError } from './arguments.js';
import { openCommandStore, STORE_OPTIONS, type StoreOptionValues } from './command-store.js';
import {
  apikeyList,
  apikeyRevoke,
  deploymentScriptCommand,
  tokenCreate,
  tokenList,
  tokenRevoke,
} from './credential-commands.js';
import { dbCopy } from './db-commands.js';
import { parseTlsPolicyOption, tlsCheck, tlsSet } from './tls-commands.js';
import { userCommand } from './user-commands.js';

const VERSION = '0.1.0';

const HELP = `palisade-manager ${VERSION} — the Palisade manager

Usage:
  palisade-manager start [options]          run the manager in the foreground
  palisade-manager token create --policy NAME [--uses N|unlimited] [--expires 24h|never]
                 [--description TEXT] [store options]
                                            new agent activation token (printed alone on stdout)
  palisade-manager token list [--json] [store options]
                                            every activation token: status, policy, uses,
                                            expiry, what it was made for (never the secret)
  palisade-manager token revoke ID [store options]
                                            refuse activations with that token from now on
  palisade-manager apikey create --name NAME [--role full-access|read-only] [store options]
                                            new REST API key (printed alone on stdout)
  palisade-manager user create --name NAME [--role full-access|read-only] [store options]
                                            new web console user; the password is asked at the
                                            terminal (twice, not echoed) or read as the first
                                            line of standard input (at least 12 characters)
  palisade-manager user password --name NAME [store options]
                                            set a console user's password (same input); ends
                                            the user's sessions and clears a lock-out
  palisade-manager user disable|enable --name NAME [store options]
                                            stop (or allow again) a console user signing in;
                                            disabling ends the user's sessions
  palisade-manager user list [store options]
                                            console users: name, role, state, last sign-in
  palisade-manager apikey list [--json] [store options]
  palisade-manager apikey revoke ID [store options]
                                            API keys by ID; a revoked key is refused at once
  palisade-manager deployment-script --platform linux|macos [--policy NAME] [--no-activate]
                 [--uses N|unlimited] [--expires 7d|never] [--manager-host NAME]
                 [--api-port 4119] [--heartbeat-port 4120] [store options]
                                            the agent deployment script alone on stdout (as
                                            POST /api/agentdeploymentscripts answers): installs
                                            the newest package, activates with a token made for
                                            it (default 100 uses, 7 days; --no-activate: none).
                                            Host: the first --hostname of "start" (from the
                                            server certificate). docs/deployment.md
  palisade-manager ca fingerprint [store options]
                                            the manager CA fingerprint, sha256:HEX (stdout)
  palisade-manager tls check [--policy NAME] [--json] [store options]
                                            preflight: which agent versions and enrolled
                                            computers a TLS policy admits or cuts off, and the
                                            protocol and suite each negotiates (default: the
                                            stored policy); --json = GET /api/tls/preflight
  palisade-manager tls set --policy NAME [store options]
                                            store the agent endpoint's TLS policy; running
                                            managers apply it within 30 s (or use the API:
                                            POST /api/tls/policy)
  palisade-manager db copy --from sqlite:PATH --to postgres://USER@HOST:PORT/DB
                 [--from-password-file FILE] [--to-password-file FILE]
                                            move a whole manager (computers, policies, alerts,
                                            events, keys, tokens, users, the CA) into an empty
                                            store, e.g. SQLite into PostgreSQL; stop the manager
                                            first; refuses a non-empty target; checks every
                                            table's count. Agents keep their certificates.
                                            docs/scale-out.md
  palisade-manager --help | --version

Store options (every command):
  --data-dir DIR      node-local files: SQLite store, TLS server certificate (default ./data)
  --db URL            store to use: sqlite:PATH (default sqlite:DATA_DIR/palisade.db), or
                      postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=verify-full&
                      sslrootcert=FILE] for a PostgreSQL database several manager nodes
                      share (docs/scale-out.md)
  --db-password-file FILE
                      the PostgreSQL password (first line), when the URL has none;
                      else PGPASSWORD
  --master-key-file PATH
                      the key that encrypts the stored secrets (CA key, notifier
                      credentials, TLS ticket secret); default DATA_DIR/master.key, made
                      on the first start (mode 0600). Back it up apart from the database;
                      every manager of one database needs the same file.
Only "start" creates a store: the other commands refuse a --data-dir or --db where there is
none.

start options:
  --hostname NAME     a name agents use to reach this manager; repeat for several. The TLS
                      server certificate names each (default: this machine's host name and
                      localhost). Agents look the manager up by name, so it must be in DNS.
  --api-port N        HTTPS REST API, /healthz, web console (default 4119)
  --console-dir DIR   the built web console to serve at / (default packages/console/dist,
                      made by "npm run build")
  --heartbeat-port N  agent endpoint: activation and heartbeats (default 4120)
  --bind ADDRESS      address to listen on (default all interfaces)
  --heartbeat-interval-seconds N
                      LAB AND TESTS ONLY: shorten the fixed 10-minute heartbeat interval. The
                      offline deadline scales with it ((2 + 1) × interval).
  --tls-policy NAME   TLS policy of the agent endpoint: modern (default; TLS 1.3, TLS 1.2
                      ECDHE), compatible (+ TLS 1.2 RSA key exchange for Deep Security
                      9.5/9.6/10.0 agents), legacy (+ TLS 1.0/1.1, on 4120 itself). Used
                      only when no policy is stored yet: once stored (by this flag, the API or
                      "tls set") the stored one wins. See docs/tls.md; run "tls check" first.
  --legacy-tls-port N alias port serving the legacy policy, open only under it, for agents
                      already pointed there (default 4122; 4120 serves TLS 1.0/1.1 itself)
  --dialer-concurrency N
                      calls to agents' listeners (Bidirectional, Manager Initiated) this node
                      runs at once, at most ${MAX_DIALER_CONCURRENCY} (default ${DEFAULT_DIALER_CONCURRENCY}; docs/communication.md)
  --node-name NAME    this node among the manager nodes sharing the database (GET
                      /api/managernodes); unique (default FIRST_HOSTNAME:HEARTBEAT_PORT)
  --agent-address URL dsm://HOST:PORT/ agents are told to try, in order, before the address
                      they activated with: this node's name, or the load balancer in front of
                      the nodes; repeat for several (default none). docs/scale-out.md
  --metrics-listen HOST:PORT
                      also serve GET /metrics (Prometheus) in plain HTTP without an API key on
                      this address, e.g. 127.0.0.1:9120; otherwise it is on the API port
                      behind the API key (docs/monitoring.md)
  --max-agent-connections N, --max-agent-connections-per-source N
  --max-api-connections N, --max-api-connections-per-source N
                      connections 4120 and 4119 hold at once, in total and from one source
                      address; beyond them new connections are closed and a warning logged.
                      Default from the open-file limit (4120: 70 % of it, at most 10000;
                      4119: 20 %, at most 2000; per source a quarter). Raise the per-source
                      caps when agents reach the manager through a NAT or load balancer
                      (docs/security.md)
  --event-rate N, --event-burst N
                      events one computer may have stored per minute (default 600) and at
                      once after a quiet spell (default 5000); beyond them a heartbeat's
                      other events are not acknowledged, so the agent sends them again later
                      (counted in palisade_events_deferred_total; docs/security.md)

On first start the manager creates its CA, a server certificate, an admin API key and an
activation token for the Base Policy (valid ${FIRST_RUN_TOKEN_HOURS} hours, ${FIRST_RUN_TOKEN_USES} uses) and
prints them with the agent activation command. Secrets are shown once; make more with
"token create" and "apikey create". Logs go to standard error (PALISADE_LOG_LEVEL=debug for more).
`;

const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

export async function main(argv: string[], out: Out = defaultOut): Promise<number> {
  try {
    return await run(argv, out);
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`palisade-manager: ${e.message}\n`);
      return 2;
    }
    out.stderr(`palisade-manager: ${(e as Error).message}\n`);
    return 1;
  }
}

async function run(argv: string[], out: Out): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    out.stdout(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version') {
    out.stdout(`${VERSION}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    out.stdout(HELP);
    return 0;
  }
  if (cmd === 'start') return start(argv.slice(1), out);
  if (cmd === 'token' && sub === 'create') return tokenCreate(rest, out);
  if (cmd === 'token' && sub === 'list') return tokenList(rest, out);
  if (cmd === 'token' && sub === 'revoke') return tokenRevoke(rest, out);
  if (cmd === 'apikey' && sub === 'create') return apikeyCreate(rest, out);
  if (cmd === 'apikey' && sub === 'list') return apikeyList(rest, out);
  if (cmd === 'apikey' && sub === 'revoke') return apikeyRevoke(rest, out);
  if (cmd === 'deployment-script') return deploymentScriptCommand(argv.slice(1), out);
  if (cmd === 'ca' && sub === 'fingerprint') return caFingerprint(rest, out);
  if (cmd === 'user' && sub !== undefined) return userCommand(sub, rest, out);
  if (cmd === 'tls' && sub === 'check') return tlsCheck(rest, out);
  if (cmd === 'tls' && sub === 'set') return tlsSet(rest, out);
  if (cmd === 'db' && sub === 'copy') return dbCopy(rest, out);
  throw new UsageError(`unknown command "${argv.slice(0, 2).join(' ')}" (see --help)`);
}

async function start(args: string[], out: Out): Promise<number> {
  const v = parseOptions('start', args, {
    ...STORE_OPTIONS,
    hostname: { type: 'string', multiple: true },
    'api-port': { type: 'string' },
    'heartbeat-port': { type: 'string' },
    bind: { type: 'string' },
    'heartbeat-interval-seconds': { type: 'string' },
    'tls-policy': { type: 'string' },
    'legacy-tls-port': { type: 'string' },
    'console-dir': { type: 'string' },
    'metrics-listen': { type: 'string' },
    'dialer-concurrency': { type: 'string' },
    'node-name': { type: 'string' },
    'agent-address': { type: 'string', multiple: true },
    'max-agent-connections': { type: 'string' },
    'max-agent-connections-per-source': { type: 'string' },
    'max-api-connections': { type: 'string' },
    'max-api-connections-per-source': { type: 'string' },
    'event-rate': { type: 'string' },
    'event-burst': { type: 'string' },
  });
  const dialerConcurrency = parsePositiveInt('dialer-concurrency', v['dialer-concurrency']);
  if (dialerConcurrency !== undefined && dialerConcurrency > MAX_DIALER_CONCURRENCY)
    throw new UsageError(`--dialer-concurrency ${dialerConcurrency}: at most ${MAX_DIALER_CONCURRENCY}`);
  const agentAddresses = v['agent-address']
    ?.flatMap((a) => a.split(','))
    .map((a) => a.trim())
    .filter(Boolean);
  for (const a of agentAddresses ?? []) {
    if (!/^dsm:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]{1,253}):[0-9]{1,5}\/$/.test(a))
      throw new UsageError(`--agent-address "${a}" is not dsm://HOST:PORT/`);
  }
  if (v['node-name'] !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(v['node-name']))
    throw new UsageError(`--node-name "${v['node-name']}": letters, digits, . _ : - (at most 128)`);
  const hostnames = v.hostname
    ?.flatMap((h) => h.split(','))
    .map((h) => h.trim())
    .filter(Boolean);
  for (const h of hostnames ?? []) {
    if (!/^[A-Za-z0-9.-]{1,253}$|^[0-9a-fA-F:]+$/.test(h))
      throw new UsageError(`--hostname "${h}" is not a host name or IP address`);
  }
  // The manager's own process: its young-generation collections on the main thread (gc-tuning.ts).
  scavengeOnMainThread();
  const m = await startManager({
    dataDir: v['data-dir'] ?? 'data',
    db: v.db,
    dbPasswordFile: v['db-password-file'],
    masterKeyFile: v['master-key-file'],
    hostnames: hostnames ?? defaultHostnames(),
    apiPort: parsePort('api-port', v['api-port'], 4119),
    heartbeatPort: parsePort('heartbeat-port', v['heartbeat-port'], 4120),
    bindAddress: v.bind,
    heartbeatIntervalSeconds: parsePositiveInt('heartbeat-interval-seconds', v['heartbeat-interval-seconds']),
    tlsPolicy: v['tls-policy'] === undefined ? undefined : parseTlsPolicyOption('tls-policy', v['tls-policy']),
    legacyTlsPort: parsePort('legacy-tls-port', v['legacy-tls-port'], 4122),
    consoleDir: v['console-dir'],
    metricsListen: parseListen('metrics-listen', v['metrics-listen']),
    ...(dialerConcurrency !== undefined ? { dialer: { concurrency: dialerConcurrency } } : {}),
    nodeName: v['node-name'],
    agentAddresses,
    connectionLimits: {
      agent: definedOnly({
        total: parsePositiveInt('max-agent-connections', v['max-agent-connections']),
        perSource: parsePositiveInt('max-agent-connections-per-source', v['max-agent-connections-per-source']),
      }),
      api: definedOnly({
        total: parsePositiveInt('max-api-connections', v['max-api-connections']),
        perSource: parsePositiveInt('max-api-connections-per-source', v['max-api-connections-per-source']),
      }),
    },
    eventRate: definedOnly({
      perMinute: parsePositiveInt('event-rate', v['event-rate']),
      burst: parsePositiveInt('event-burst', v['event-burst']),
    }),
  });
  // Handlers first, banner second: whoever waits for the banner may signal at once, and a
  // signal before the handlers are in place would kill the process without closing the store.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  out.stdout(banner(m, (await m.agentPackages.list()).length, storeArguments(v)));
  await stopped;
  out.stderr('palisade-manager: stopping\n');
  await m.close();
  return 0;
}

/** The options given, as members (`exactOptionalPropertyTypes`: an absent option is no member, not `undefined`); the rest default. */
function definedOnly<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}

/** `HOST:PORT` or `[IPv6]:PORT`; undefined when absent. */
function parseListen(name: string, v: string | undefined): { host: string; port: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^\[([0-9a-fA-F:]+)\]:(\d+)$|^([A-Za-z0-9.-]+):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--${name} "${v}" is not HOST:PORT (e.g. 127.0.0.1:9120)`);
  return { host: (m[1] ?? m[3])!, port: parsePort(name, m[2] ?? m[4], 0) };
}

/** A word for a POSIX shell: as is when it is safe, else single-quoted. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The store options a command run from anywhere needs to reach the store this manager uses:
 * the data dir as an absolute path, and `--db` and `--master-key-file` when they were given.
 */
function storeArguments(v: StoreOptionValues): string {
  const args = [`--data-dir ${shellWord(resolve(v['data-dir'] ?? 'data'))}`];
  if (v.db !== undefined) args.push(`--db ${shellWord(v.db)}`);
  if (v['master-key-file'] !== undefined) args.push(`--master-key-file ${shellWord(resolve(v['master-key-file']))}`);
  return args.join(' ');
}

function banner(m: RunningManager, packages: number, storeArgs: string): string {
  const host = m.hostnames[0]!;
  const lines = [
    '',
    'Palisade manager is running.',
    `  Console:        https://${host}:${m.apiPort}/  (${m.consoleBuilt ? 'sign in as a console user: palisade-manager user create --name NAME' : 'not built in this checkout: run npm run build'})`,
    `  REST API:       https://${host}:${m.apiPort}/api/  (header api-secret-key)`,
    `  Agent endpoint: dsm://${host}:${m.heartbeatPort}/`,
    `  Agent TLS:      policy "${m.agentTls.policy}"${m.agentTls.legacyPort !== null ? `; TLS 1.0/1.1 listener on port ${m.agentTls.legacyPort}` : ''} (palisade-manager tls check)`,
    `  CA fingerprint: ${m.caFingerprint}`,
    `  Metrics:        https://${host}:${m.apiPort}/metrics (header api-secret-key)${m.metricsPort !== null ? `; plain HTTP on port ${m.metricsPort} (--metrics-listen)` : ''}`,
  ];
  if (m.firstRun.apiKey) {
    lines.push(`  Admin API key (shown once, stored hashed): ${m.firstRun.apiKey}`);
  } else {
    lines.push(
      `  Admin API key:  created on first start; make another with "npx palisade-manager apikey create --name NAME ${storeArgs}"`,
    );
  }
  const token =
    m.firstRun.activationToken ?? `"$(npx palisade-manager token create --policy 'Base Policy' ${storeArgs})"`;
  lines.push(
    '',
    m.firstRun.activationToken
      ? `Activate an agent (token valid ${FIRST_RUN_TOKEN_HOURS} hours, ${FIRST_RUN_TOKEN_USES} uses, for the Base Policy):`
      : 'Activate an agent (this makes a new single-use token for the Base Policy):',
    `  npx palisade-agent activate dsm://${host}:${m.heartbeatPort}/ --token ${token} --ca-fingerprint ${m.caFingerprint} --state-dir ./agent-state`,
    '  npx palisade-agent start --state-dir ./agent-state',
    '',
    packages > 0
      ? `Agent packages: ${packages} in ${m.agentPackages.dir}. Deploy to a fleet with a script: palisade-manager deployment-script --platform linux (docs/deployment.md).`
      : `Agent packages: none yet in ${m.agentPackages.dir}, so deployment scripts cannot be made. Build one with "npm run package:agent" (it writes there with the default --data-dir; otherwise copy the .tar.gz into that folder), then: palisade-manager deployment-script --platform linux (docs/deployment.md).`,
    '',
  );
  return lines.join('\n');
}

async function apikeyCreate(args: string[], out: Out): Promise<number> {
  const v = parseOptions('apikey create', args, {
    ...STORE_OPTIONS,
    name: { type: 'string' },
    role: { type: 'string' },
  });
  if (!v.name) throw new UsageError('apikey create: --name NAME is required');
  const role = v.role ?? 'full-access';
  if (role !== 'full-access' && role !== 'read-only')
    throw new UsageError(`apikey create: --role "${role}" must be full-access or read-only`);
  const { store } = await openCommandStore(v, out.stderr);
  try {
    const key = newSecret('apikey');
    const rec = await store.apiKeys.create({
      name: v.name,
      keyPrefix: key.slice(0, 8),
      secretHash: hashSecret(key),
      role,
      now: Date.now(),
    });
    out.stderr(`palisade-manager: API key ${rec.id} "${rec.name}" (${role}); it is shown once\n`);
    out.stdout(`${key}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

async function caFingerprint(args: string[], out: Out): Promise<number> {
  const v = parseOptions('ca fingerprint', args, { ...STORE_OPTIONS });
  const { store, ca } = await openCommandStore(v, out.stderr);
  await store.close();
  out.stdout(`${ca.fingerprint}\n`);
  return 0;
}
