import { AGENT_INSTALL, type AgentPackageArch, type AgentPackagePlatform } from '@palisade/protocol';

/** A package the script may install: the newest one of its architecture. */
export interface ScriptPackage {
  architecture: AgentPackageArch;
  version: string;
  fileName: string;
  sha256: string;
}

/** Everything a deployment script says; it holds no other secret than `activation.token`. */
export interface DeploymentScriptInput {
  platform: AgentPackagePlatform;
  /** The name agents and curl reach the manager by; the server certificate must name it. */
  managerHost: string;
  apiPort: number;
  heartbeatPort: number;
  /** The manager CA (public), PEM, and its `sha256:HEX` fingerprint: the only thing the script trusts. */
  caPem: string;
  caFingerprint: string;
  /** At least one; architectures without a package make the script stop with what to do. */
  packages: readonly ScriptPackage[];
  /** Absent: the script installs and starts the agent, which then waits for `palisade-agent activate`. */
  activation?: { token: string; policyName: string; tokenId: number; tokenLimits: string };
  generatedAt: Date;
}

/** POSIX single quotes: the value as one word, whatever it holds. */
export function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const ARCH_PATTERNS: Record<AgentPackageArch, string> = { x86_64: 'x86_64 | amd64', aarch64: 'aarch64 | arm64' };

/**
 * The deployment script (docs/deployment.md): bash with `set -euo pipefail`, meant to be read by
 * whoever pastes it. It refuses to run without root, picks the package for the architecture,
 * downloads it over HTTPS on the API port trusting only the embedded manager CA (checked
 * against the fingerprint written next to it: no `curl -k`, no trust on first use), checks the
 * package's SHA-256, installs it under /opt/palisade-agent, puts the service in place (systemd,
 * or launchd on macOS; a pid file where systemd did not boot the host), activates with a token
 * made for this script and starts the agent. Every failure is one line that says what to do;
 * a second run on an installed and activated host says so and changes nothing.
 */
export function deploymentScript(i: DeploymentScriptInput): string {
  if (i.packages.length === 0) throw new Error('a deployment script needs at least one package');
  if (!/^sha256:[0-9a-f]{64}$/.test(i.caFingerprint)) throw new Error('caFingerprint must be sha256:HEX');
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(i.managerHost)) throw new Error(`"${i.managerHost}" is not a host name`);
  const pem = i.caPem.trim();
  if (!/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/.test(pem))
    throw new Error('caPem must be one PEM certificate');
  const mac = i.platform === 'macos';
  const have = new Set(i.packages.map((p) => p.architecture));
  const archCases = [
    ...i.packages.map(
      (p) =>
        `  ${ARCH_PATTERNS[p.architecture]}) arch=${p.architecture} VERSION=${shq(p.version)} PACKAGE=${shq(p.fileName)} PACKAGE_SHA256=${shq(p.sha256)} ;;`,
    ),
    ...(['x86_64', 'aarch64'] as const)
      .filter((a) => !have.has(a))
      .map(
        (a) =>
          `  ${ARCH_PATTERNS[a]}) fail "this manager holds no ${i.platform} agent package for ${a}: build one on an ${a} machine (npm run package:agent) into the manager's agent-packages folder, then get a new script" ;;`,
      ),
    '  *) fail "unsupported architecture $(uname -m): agent packages exist for x86_64 and aarch64 only" ;;',
  ].join('\n');
  const a = i.activation;
  const header = [
    '#!/usr/bin/env bash',
    `# Palisade agent deployment script (${i.platform}), written by the manager ${i.managerHost} on ${i.generatedAt.toISOString()}.`,
    '#',
    '# Run it as root on the host to protect, e.g. "sudo bash deploy-palisade-agent.sh". It:',
    `#   1. downloads the agent package from https://${i.managerHost}:${i.apiPort}/, trusting only the manager CA`,
    '#      below (its SHA-256 fingerprint is written next to it; never the system CAs, never curl -k),',
    '#      and checks the SHA-256 of the package written below before installing anything;',
    `#   2. installs it in ${AGENT_INSTALL.root} (state in ${AGENT_INSTALL.stateDir}, mode 0700) with`,
    `#      palisade-agent on PATH, and ${mac ? `the launchd daemon ${AGENT_INSTALL.launchdLabel}` : 'the systemd service palisade-agent (a background process with a pid file where systemd did not boot the host)'};`,
    a
      ? `#   3. activates it with policy "${a.policyName.replaceAll('\n', ' ')}" using an activation token made for this script`
      : '#   3. does not activate it: the agent waits until "palisade-agent activate" runs.',
    ...(a
      ? [
          `#      (token ${a.tokenId}: ${a.tokenLimits}; revoke it with "palisade-manager token revoke ${a.tokenId}"`,
          '#      or DELETE /api/activationtokens/' +
            a.tokenId +
            '). Treat this script as a secret while the token is valid.',
        ]
      : []),
    '#',
    '# Running it again on an installed and activated host changes nothing. Remove the agent with',
    '# "palisade-agent uninstall --yes". See docs/deployment.md in the Palisade repository.',
    'set -euo pipefail',
    '',
    `MANAGER_HOST=${shq(i.managerHost)}`,
    `API_PORT=${i.apiPort}`,
    `HEARTBEAT_PORT=${i.heartbeatPort}`,
    `CA_FINGERPRINT=${shq(i.caFingerprint)}`,
    `ACTIVATION_TOKEN=${a ? shq(a.token) : "''"}`,
    `INSTALL_ROOT=${shq(AGENT_INSTALL.root)}`,
    `STATE_DIR=${shq(AGENT_INSTALL.stateDir)}`,
    `BIN_LINK=${shq(AGENT_INSTALL.binLink)}`,
    '',
    'fail() {',
    '  echo "palisade-agent deployment: $*" >&2',
    '  exit 1',
    '}',
    'say() { echo "palisade-agent deployment: $*"; }',
    '',
    '[[ "$(id -u)" -eq 0 ]] || fail "run this script as root, e.g. sudo bash $0"',
    `[[ "$(uname -s)" == ${mac ? 'Darwin' : 'Linux'} ]] || fail "this script is for ${mac ? 'macOS' : 'Linux'}; ask the manager for the $(uname -s) one (POST /api/agentdeploymentscripts)"`,
    'case "$(uname -m)" in',
    archCases,
    'esac',
    `for tool in curl tar ${mac ? 'shasum' : 'sha256sum'} base64 mktemp; do`,
    '  command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed: install it, then run this script again"',
    'done',
    '',
    'agent="$INSTALL_ROOT/versions/$VERSION/palisade-agent"',
    'activated() { [[ "$("$agent" status --json --state-dir "$STATE_DIR" 2>/dev/null || true)" == *\'"activated":true\'* ]]; }',
    'if [[ -x "$agent" && "$(readlink "$INSTALL_ROOT/current" 2>/dev/null || true)" == "versions/$VERSION" ]] &&',
    '  { [[ -z "$ACTIVATION_TOKEN" ]] || activated; }; then',
    '  "$agent" service start >/dev/null 2>&1 || true',
    '  say "agent $VERSION is already installed${ACTIVATION_TOKEN:+ and activated} here; nothing to do"',
    '  exit 0',
    'fi',
    '',
    'workdir="$(mktemp -d)"',
    'trap \'rm -rf "$workdir"\' EXIT',
    'cat >"$workdir/ca.pem" <<\'PALISADE_MANAGER_CA\'',
    pem,
    'PALISADE_MANAGER_CA',
    '# The fingerprint is of the DER certificate: the PEM body, base64-decoded.',
    `actual="sha256:$(sed -e '/-----/d' "$workdir/ca.pem" | base64 ${mac ? '-D' : '-d'} | ${mac ? 'shasum -a 256' : 'sha256sum'} | cut -d ' ' -f 1)"`,
    '[[ "$actual" == "$CA_FINGERPRINT" ]] ||',
    '  fail "the manager CA in this script does not match its fingerprint (a damaged copy?); get a new script from the manager"',
    '',
    `url="https://$MANAGER_HOST:$API_PORT/software/agent/${i.platform}/$arch/$VERSION/$PACKAGE"`,
    'if ! err="$(curl --fail --silent --show-error --proto \'=https\' --cacert "$workdir/ca.pem" --retry 2 -o "$workdir/$PACKAGE" "$url" 2>&1)"; then',
    '  fail "could not download $url trusting only the manager CA (${err//$\'\\n\'/ }): check that $MANAGER_HOST resolves on this host, that port $API_PORT is reachable, and that this script came from that manager"',
    'fi',
    mac
      ? 'echo "$PACKAGE_SHA256  $workdir/$PACKAGE" | shasum -a 256 -c -s ||'
      : 'echo "$PACKAGE_SHA256  $workdir/$PACKAGE" | sha256sum --check --status ||',
    '  fail "the downloaded package does not have the SHA-256 this script expects; nothing was installed: get a new script from the manager"',
    '',
    '# Beside any other version, then `current` switched in one rename, as upgrades do.',
    'mkdir -p "$INSTALL_ROOT/versions"',
    'staging="$INSTALL_ROOT/versions/.staging-$VERSION"',
    'rm -rf "$staging" && mkdir -m 0755 "$staging"',
    'tar -xzf "$workdir/$PACKAGE" -C "$staging" --strip-components=1 || fail "could not unpack $PACKAGE into $staging (disk full?)"',
    'rm -rf "$INSTALL_ROOT/versions/$VERSION"',
    'mv "$staging" "$INSTALL_ROOT/versions/$VERSION"',
    'ln -sfn "versions/$VERSION" "$INSTALL_ROOT/current.new"',
    mac
      ? 'mv -fh "$INSTALL_ROOT/current.new" "$INSTALL_ROOT/current"'
      : 'mv -fT "$INSTALL_ROOT/current.new" "$INSTALL_ROOT/current"',
    'mkdir -p "$(dirname "$BIN_LINK")"',
    'ln -sfn "$INSTALL_ROOT/current/palisade-agent" "$BIN_LINK"',
    'mkdir -p "$STATE_DIR" && chmod 0700 "$STATE_DIR"',
    'say "installed agent $VERSION in $INSTALL_ROOT/versions/$VERSION"',
    '',
    ...(mac ? macService() : linuxService()),
    '',
    'if [[ -n "$ACTIVATION_TOKEN" ]]; then',
    '  if activated; then',
    '    say "this host is already activated (its state in $STATE_DIR was kept); not activating again"',
    '  elif ! err="$("$agent" activate "dsm://$MANAGER_HOST:$HEARTBEAT_PORT/" --token "$ACTIVATION_TOKEN" --ca-fingerprint "$CA_FINGERPRINT" --state-dir "$STATE_DIR" 2>&1)"; then',
    '    fail "activation failed: ${err//$\'\\n\'/ }"',
    '  else',
    '    say "${err%%$\'\\n\'*}"',
    '  fi',
    'fi',
    'if ! err="$("$agent" service start 2>&1)"; then',
    '  fail "could not start the agent: ${err//$\'\\n\'/ }"',
    'fi',
    'say "${err%%$\'\\n\'*}"',
    'if [[ -n "$ACTIVATION_TOKEN" ]]; then',
    '  # The agent heartbeats as soon as it starts; give it a moment to show it reached the manager.',
    '  for _ in $(seq 1 30); do',
    '    if [[ "$("$agent" status --json --state-dir "$STATE_DIR" 2>/dev/null || true)" == *\'"ok":true\'* ]]; then',
    '      say "done: the agent is activated and heartbeating to $MANAGER_HOST (palisade-agent status)"',
    '      exit 0',
    '    fi',
    '    sleep 1',
    '  done',
    '  say "the agent runs but has not reached the manager yet; see palisade-agent status"',
    'else',
    '  say "done: activate the agent with palisade-agent activate dsm://$MANAGER_HOST:$HEARTBEAT_PORT/ --token TOKEN --ca-fingerprint $CA_FINGERPRINT"',
    'fi',
    '',
  ];
  return header.join('\n');
}

function linuxService(): string[] {
  return [
    '# sd_booted(3): systemd manages services only where it booted the host.',
    'if [[ -d /run/systemd/system ]]; then',
    `  install -m 0644 "$INSTALL_ROOT/current/palisade-agent.service" ${shq(AGENT_INSTALL.unitFile)}`,
    '  systemctl daemon-reload || fail "systemctl daemon-reload failed; see journalctl -xe"',
    '  systemctl enable palisade-agent >/dev/null 2>&1 || fail "systemctl enable palisade-agent failed; see systemctl status palisade-agent"',
    '  say "installed the systemd service palisade-agent (logs: journalctl -u palisade-agent)"',
    'else',
    '  say "systemd is not PID 1 here (a container?): the agent runs in the background with a pid file ($STATE_DIR/palisade-agent.pid) and does not start at boot"',
    'fi',
  ];
}

function macService(): string[] {
  return [
    '# launchd(8): a system daemon that starts at boot and is restarted when it exits.',
    `cat >${shq(AGENT_INSTALL.launchdPlist)} <<'PALISADE_PLIST'`,
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0"><dict>',
    `  <key>Label</key><string>${AGENT_INSTALL.launchdLabel}</string>`,
    '  <key>ProgramArguments</key><array>',
    `    <string>${AGENT_INSTALL.root}/current/palisade-agent</string><string>start</string>`,
    `    <string>--state-dir</string><string>${AGENT_INSTALL.stateDir}</string>`,
    '  </array>',
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key><true/>',
    `  <key>StandardErrorPath</key><string>${AGENT_INSTALL.logFile}</string>`,
    '</dict></plist>',
    'PALISADE_PLIST',
    `launchctl bootstrap system ${shq(AGENT_INSTALL.launchdPlist)} 2>/dev/null || true`,
    `say "installed the launchd daemon ${AGENT_INSTALL.launchdLabel}"`,
  ];
}
