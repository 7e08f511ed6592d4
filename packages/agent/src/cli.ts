import { readFileSync } from 'node:fs';
import { isSea } from 'node:sea';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AGENT_INSTALL } from '@palisade/protocol';
import { AgentError } from './agent-error.js';
import { AGENT_VERSION } from './agent-version.js';
import { formatManagerUrl } from './manager-url.js';
import { StateDir } from './state-dir.js';

/**
 * The installed agent (the single executable from the agent package) keeps its state where the
 * package puts it, so `palisade-agent status` works with no options, as `dsa_control` does; run
 * from a checkout, the default is `./agent-state`.
 */
const DEFAULT_STATE_DIR = isSea() ? AGENT_INSTALL.stateDir : 'agent-state';

const HELP = `palisade-agent ${AGENT_VERSION} — the Palisade agent

Usage:
  palisade-agent activate dsm://HOST:PORT/ --token TOKEN --ca-fingerprint sha256:HEX
                 [--policy NAME] [--state-dir DIR]
      Generate this host's key pair, send a certificate request with the activation token and
      keep the certificate, the manager CA and the first security configuration. The CA must
      match --ca-fingerprint (get it with "palisade-manager ca fingerprint"); without it the
      agent refuses, rather than trust whatever answers. --policy picks a policy by name
      instead of the token's. HOST must resolve: agents find the manager by its host name.
  palisade-agent start [--state-dir DIR] [LISTENER OPTIONS]
      Run in the foreground: heartbeat at the interval the manager sets (10 minutes), jittered,
      and follow the communication direction of the applied configuration: Agent Initiated
      heartbeats and listens on no port; Bidirectional heartbeats and listens; Manager
      Initiated listens and never heartbeats (the manager calls). macOS never listens. Not
      activated yet, it waits (Activation Required) until "activate" has run.
  palisade-agent heartbeat [--state-dir DIR] [--tls-max 1.2|1.3]
      Send one heartbeat now, print what happened, exit 0 on success.
  palisade-agent status [--state-dir DIR] [--json]
      Print this agent's state: activation, the computer's policy now (as the manager's last
      reply named it), last contact, the applied configuration (its fingerprint computed from
      it, not read from disk), spool.
  palisade-agent reset --yes [--state-dir DIR]
      Tell the manager (the computer shows Deactivated), then forget the activation here (key,
      certificates, configuration, unsent events) and remove the firewall rules. The host
      identity stays: activating again gets the same computer back.
  palisade-agent service start|stop|restart
      The installed agent's service: systemctl where systemd booted the host, otherwise a
      background process with its pid and log in ${AGENT_INSTALL.stateDir}.
  palisade-agent uninstall --yes [--keep-state]
      Take the installed agent off this host: stop the service, remove the nftables table, the
      unit, ${AGENT_INSTALL.root}, ${AGENT_INSTALL.binLink} and the state (--keep-state keeps
      ${AGENT_INSTALL.stateDir}: the host identity and activation). Run as root.
  palisade-agent upgrade-watch [--state-dir DIR]
      Internal: run by the agent during an upgrade from the manager, from the old version's
      executable; restarts the service on the new version and rolls back if it does not
      heartbeat within PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS (default 120).
  palisade-agent --help | --version

LISTENER OPTIONS (activate, start; labs and tests — kept in STATE-DIR/listener.json for later runs):
  --listen-port PORT       listen here instead of the configuration's port (the manager's
                           platformSettingAgentListeningPort, 4118 by default); the hidden rule,
                           the nftables table and the listener guard follow it; 0 = any free port
  --listen-address ADDR    bind this address only (default: all interfaces)
  --announce-address HOST  tell the manager to call this address (NAT, labs); default: the
                           address the manager sees the agent at

ENVIRONMENT:
  PALISADE_AGENT_FIREWALL=off  never touch nftables (trying Palisade out, labs); the listener guard
                               still checks peers. Otherwise the agent, run as root where nft is
                               installed, enforces its policy's host firewall in its own table:
                               inet palisade (installed agent) or inet palisade_<8 hex> (another
                               --state-dir); activate and start say so first.

--state-dir DIR defaults to ${DEFAULT_STATE_DIR}. Exit codes: 0 success, 1 failure, 2 usage error.
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function options(cmd: string, args: string[], opts: NonNullable<ParseArgsConfig['options']>, positionals = 0) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: { 'state-dir': { type: 'string' }, ...opts },
      strict: true,
      allowPositionals: positionals > 0,
    });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message.split('\n')[0]} (see --help)`);
  }
  if (parsed.positionals.length > positionals)
    throw new UsageError(`${cmd}: unexpected argument "${parsed.positionals[positionals]}"`);
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

const stateOf = (v: Record<string, unknown>) =>
  new StateDir((v['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR);

const LISTENER_OPTIONS = {
  'listen-port': { type: 'string' },
  'listen-address': { type: 'string' },
  'announce-address': { type: 'string' },
} as const;

/** The listener options given on the command line (absent ones absent). */
function listenerOptions(
  cmd: string,
  v: Record<string, string | boolean | undefined>,
): { port?: number; bindAddress?: string; announceAddress?: string } {
  const out: { port?: number; bindAddress?: string; announceAddress?: string } = {};
  if (v['listen-port'] !== undefined) {
    const port = Number(v['listen-port']);
    if (!/^[0-9]{1,5}$/.test(String(v['listen-port'])) || port > 65535)
      throw new UsageError(`${cmd}: --listen-port takes a port number 0-65535`);
    out.port = port;
  }
  if (typeof v['listen-address'] === 'string') out.bindAddress = v['listen-address'];
  if (typeof v['announce-address'] === 'string') {
    if (!/^[A-Za-z0-9.:_%-]{1,255}$/.test(v['announce-address']))
      throw new UsageError(`${cmd}: --announce-address takes a host name or IP address`);
    out.announceAddress = v['announce-address'];
  }
  return out;
}

/** `status --json`: what scripts test (the deployment script: already activated?). */
function statusJson(state: StateDir) {
  if (!state.isActivated())
    return { version: AGENT_VERSION, stateDir: state.dir, activated: false, status: 'Activation Required' };
  const a = state.activation();
  const last = state.lastContact();
  return {
    version: AGENT_VERSION,
    stateDir: state.dir,
    activated: true,
    computerId: a.computerId,
    manager: formatManagerUrl(a.manager),
    policyName: state.currentPolicy()?.policyName ?? a.policyName,
    lastContact: last ? { time: last.time, ok: last.ok, ...(last.error ? { error: last.error } : {}) } : null,
  };
}

/** The direction of the applied configuration and what it means for this host's ports. */
function communicationLine(configuration: unknown, state: StateDir): string {
  const c = (
    configuration as { communication?: { direction?: string; listen?: boolean; listeningPort?: number } } | undefined
  )?.communication;
  if (!c?.direction) return 'unknown (no configuration applied)';
  if (process.platform === 'darwin')
    return `${c.direction} in the configuration; macOS agents initiate communication and listen on no port`;
  if (!c.listen) return `${c.direction}: heartbeats to the manager, listens on no port`;
  let port = String(c.listeningPort ?? 4118);
  try {
    const s = JSON.parse(readFileSync(state.path('listener.json'), 'utf8')) as { port?: number };
    if (s.port !== undefined) port = s.port === 0 ? 'a free port (listener.json)' : `${s.port} (listener.json)`;
  } catch {
    /* no local settings */
  }
  return c.direction === 'manager-initiated'
    ? `${c.direction}: listens on port ${port} while running and never heartbeats; the manager calls`
    : `${c.direction}: heartbeats, and listens on port ${port} while running`;
}

export async function main(argv: string[], out: Out = defaultOut): Promise<number> {
  try {
    return await run(argv, out);
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`palisade-agent: ${e.message}\n`);
      return 2;
    }
    if (e instanceof AgentError) {
      out.stderr(`palisade-agent: ${e.message}\n`);
      return 1;
    }
    out.stderr(`palisade-agent: unexpected error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

async function run(argv: string[], out: Out): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help' || args.includes('--help')) {
    out.stdout(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version') {
    out.stdout(`${AGENT_VERSION}\n`);
    return 0;
  }
  switch (cmd) {
    case 'activate': {
      const { values, positionals } = options(
        'activate',
        args,
        {
          token: { type: 'string' },
          'ca-fingerprint': { type: 'string' },
          policy: { type: 'string' },
          'host-name': { type: 'string' },
          ...LISTENER_OPTIONS,
        },
        1,
      );
      if (!positionals[0])
        throw new UsageError('activate: give the manager address, e.g. dsm://manager.example.com:4120/');
      if (!values.token)
        throw new UsageError(
          'activate: --token TOKEN is required (make one with "palisade-manager token create --policy NAME")',
        );
      // Commands load their modules on demand: key generation (x509) is heavy and only activation needs it.
      const [{ activate }, { firewallNotice }] = await Promise.all([
        import('./activate.js'),
        import('./firewall/firewall-engine.js'),
      ]);
      const listen = listenerOptions('activate', values);
      const notice = firewallNotice(stateOf(values).dir);
      if (notice) out.stderr(`palisade-agent: warning: ${notice}\n`);
      const r = await activate(stateOf(values), {
        ...(Object.keys(listen).length > 0 ? { listener: listen } : {}),
        managerUrl: positionals[0],
        token: values.token as string,
        caFingerprint: values['ca-fingerprint'] as string | undefined,
        ...(values.policy !== undefined ? { policy: values.policy as string } : {}),
        ...(values['host-name'] !== undefined ? { hostName: values['host-name'] as string } : {}),
        onBusy: (waitMs, attempt) =>
          out.stderr(
            `palisade-agent: the manager is busy (activation storm); trying again in ${Math.round(waitMs / 1000)} s (attempt ${attempt + 1})\n`,
          ),
      });
      out.stdout(
        `Activated: computer ${r.computerId} "${r.hostName}"${r.reactivated ? ' (its record kept: the manager knew this host)' : ''}, policy "${r.policyName}"${r.configurationApplied ? ', configuration applied' : ', configuration NOT applied (see status)'}.\n${isSea() ? 'The agent service carries on from here (palisade-agent service start if it is not running).' : `Run "palisade-agent start${values['state-dir'] ? ` --state-dir ${values['state-dir']}` : ''}" to keep it protected.`}\n`,
      );
      return 0;
    }
    case 'start': {
      const { values } = options('start', args, LISTENER_OPTIONS);
      const state = stateOf(values);
      const [{ default: pino }, { runAgent }, { saveListenerSettings }, { firewallNotice }] = await Promise.all([
        import('pino'),
        import('./daemon.js'),
        import('./agent-communication.js'),
        import('./firewall/firewall-engine.js'),
      ]);
      const logger = pino({ level: process.env.PALISADE_LOG_LEVEL ?? 'info' }, pino.destination(2));
      const listen = listenerOptions('start', values);
      if (Object.keys(listen).length > 0) {
        state.activation(); // not activated: say so before writing anything
        saveListenerSettings(state, listen);
      }
      // One daemon per state directory (the claim ends with this process).
      const release = state.claimDaemon();
      const notice = firewallNotice(state.dir);
      if (notice) logger.warn({ stateDir: state.dir }, notice);
      let signalled = false;
      // Until the agent runs, a signal only ends the wait; then it stops the agent (stop notice first).
      let stop: (signal: string) => void = () => {
        signalled = true;
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      for (;;) {
        if (!state.isActivated()) {
          // Installed and started before activation (a deployment script without activation), or
          // deactivated: wait for "activate" rather than exit and be restarted over and over.
          logger.warn({ stateDir: state.dir }, 'Activation Required: waiting for "palisade-agent activate"');
          while (!signalled && !state.isActivated()) await new Promise((r) => setTimeout(r, 1_000));
          if (signalled) {
            release();
            return 0;
          }
        }
        const agent = runAgent(state, logger);
        const a = state.activation();
        logger.info(
          { manager: formatManagerUrl(a.manager), computerId: a.computerId, stateDir: state.dir },
          'agent running',
        );
        stop = (signal: string) => {
          signalled = true;
          void agent.stop(`received ${signal}`);
        };
        await agent.stopped;
        if (agent.ended !== 'deactivated' || signalled) {
          release();
          return 0;
        }
        stop = () => {
          signalled = true;
        };
      }
    }
    case 'heartbeat': {
      const { values } = options('heartbeat', args, { 'tls-max': { type: 'string' } });
      const max = values['tls-max'];
      if (max !== undefined && max !== '1.2' && max !== '1.3')
        throw new UsageError('heartbeat: --tls-max takes 1.2 or 1.3');
      const { heartbeat } = await import('./heartbeat.js');
      const o = await heartbeat(
        stateOf(values),
        max ? { tls: { maxVersion: max === '1.2' ? 'TLSv1.2' : 'TLSv1.3' } } : {},
      );
      const ops =
        o.operations.length === 0
          ? 'none'
          : o.operations
              .map((op) => `${op.type} #${op.id} ${op.status}${op.reason ? ` (${op.reason})` : ''}`)
              .join(', ');
      out.stdout(
        [
          `Heartbeat sent: computer ${o.computerId}`,
          `  TLS: ${o.tlsProtocol} ${o.tlsCipher}, manager certificate ${o.tlsServerKey ?? 'unknown'}, ${o.tlsResumed ? 'session resumed' : 'full handshake'}`,
          `  events sent: ${o.eventsSent}, acknowledged through seq ${o.eventsAcknowledgedThrough}`,
          `  operations applied: ${ops}${o.resultsOnSameConnection === false ? ' (results went on a new connection)' : ''}`,
          `  clock offset: ${o.clockOffsetMs} ms; next heartbeat in ${o.heartbeatIntervalSeconds} s`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    case 'status': {
      const { values } = options('status', args, { json: { type: 'boolean' } });
      const state = stateOf(values);
      if (values.json) {
        out.stdout(`${JSON.stringify(statusJson(state))}\n`);
        return 0;
      }
      if (!state.isActivated()) {
        out.stdout(`Activation Required: not activated (state directory ${state.dir}).\n`);
        return 0;
      }
      const a = state.activation();
      const last = state.lastContact();
      const cfg = state.appliedConfiguration();
      const { appliedFingerprint } = await import('./report-builder.js');
      const fingerprint = await appliedFingerprint(state);
      const policy = state.currentPolicy()?.policyName ?? a.policyName;
      const spool = state.spool();
      const counters = state.counters();
      out.stdout(
        [
          `Activated: computer ${a.computerId}, policy "${policy}", since ${new Date(a.activatedAt).toISOString()}`,
          `  manager: ${formatManagerUrl(a.manager)} (CA ${a.caFingerprint})`,
          `  last contact: ${last ? `${new Date(last.time).toISOString()} ${last.ok ? `ok, ${last.tlsProtocol} ${last.tlsCipher}${last.tlsServerKey ? ` (${last.tlsServerKey} certificate${last.tlsResumed ? ', resumed' : ''})` : ''}, clock offset ${last.clockOffsetMs} ms` : `FAILED: ${last.error}`}` : 'never'}`,
          `  configuration: ${cfg ? `${fingerprint} applied ${new Date(cfg.appliedAt).toISOString()}${fingerprint === cfg.fingerprint ? '' : ` (the stored fingerprint ${cfg.fingerprint} does not match it)`}` : 'none applied'}`,
          `  heartbeat interval: ${state.heartbeatIntervalSeconds() ?? 600} s`,
          `  communication: ${communicationLine(cfg?.configuration, state)}`,
          `  events waiting to be sent: ${spool.size} (acknowledged through seq ${spool.acknowledgedThrough})`,
          `  counters: ${Object.entries(counters)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    case 'reset': {
      const { values } = options('reset', args, { yes: { type: 'boolean' } });
      const state = stateOf(values);
      if (!values.yes)
        throw new UsageError(
          `reset: this forgets the activation in ${state.dir} (key, certificates, unsent events); rerun with --yes`,
        );
      // The manager first (it needs the certificate about to be forgotten), then this host.
      const { tellManagerLeaving, resetLocally } = await import('./deactivation.js');
      const told = await tellManagerLeaving(state, 'reset');
      const local = await resetLocally(state);
      out.stdout(`Activation forgotten in ${state.dir} (the host identity is kept). ${told.message}\n`);
      if (local.firewall === 'removed') {
        const { firewallTableFor } = await import('./firewall/firewall-engine.js');
        out.stdout(`Firewall rules removed (nftables table inet ${firewallTableFor(state.dir)}).\n`);
      } else if (local.firewall !== 'none') out.stderr(`palisade-agent: ${local.firewall}\n`);
      return 0;
    }
    case 'service': {
      const [action, ...rest] = args;
      if (action !== 'start' && action !== 'stop' && action !== 'restart')
        throw new UsageError('service: say start, stop or restart');
      options('service', rest, {});
      const control = await import('./service-control.js');
      if (action === 'stop') {
        const r = await control.stopService();
        out.stdout(r.stopped ? `Agent stopped (${r.manager}).\n` : 'The agent was not running.\n');
      } else {
        const r = action === 'start' ? control.startService() : await control.restartService();
        out.stdout(
          `Agent ${action === 'start' ? 'started' : 'restarted'} (${r.manager}${'pid' in r && r.pid ? `, pid ${r.pid}` : ''}).\n`,
        );
      }
      return 0;
    }
    case 'uninstall': {
      const { values } = options('uninstall', args, { yes: { type: 'boolean' }, 'keep-state': { type: 'boolean' } });
      if (values['state-dir'] !== undefined)
        throw new UsageError(`uninstall: works on the installed agent only (state in ${AGENT_INSTALL.stateDir})`);
      if (!values.yes)
        throw new UsageError(
          `uninstall: this removes the agent, its firewall rules and ${values['keep-state'] ? 'its program files' : `its state (${AGENT_INSTALL.stateDir})`}; rerun with --yes`,
        );
      const { uninstall } = await import('./uninstall.js');
      await uninstall({ keepState: values['keep-state'] === true, say: (l) => out.stdout(`${l}\n`) });
      out.stdout('The Palisade agent is uninstalled.\n');
      return 0;
    }
    case 'upgrade-watch': {
      // Started by the agent itself during an upgrade (upgrade.ts), from the old version's executable.
      const { values } = options('upgrade-watch', args, {});
      const state = stateOf(values);
      const { watchUpgrade } = await import('./upgrade.js');
      const outcome = await watchUpgrade(state, (l) => out.stdout(`${new Date().toISOString()} upgrade-watch: ${l}\n`));
      return outcome === 'rolled-back' ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (see --help)`);
  }
}
