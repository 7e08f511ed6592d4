/**
 * Where an installed agent lives on a Linux host: the contract between the agent package, the
 * deployment script the manager writes and the agent's own `uninstall` and upgrade code
 * (docs/deployment.md). Versions sit side by side under `versions/`; `current` is a symbolic
 * link switched atomically (rename(2) of a new link over the old one), so an upgrade or a
 * rollback is one step and the service always starts `current/palisade-agent`.
 */
export const AGENT_INSTALL = {
  /** Program files: `versions/<version>/`, `current` → the running version. */
  root: '/opt/palisade-agent',
  /** State (key, certificates, host identity, spool): mode 0700. */
  stateDir: '/var/lib/palisade-agent',
  /** On PATH: a link to `current/palisade-agent`. */
  binLink: '/usr/local/bin/palisade-agent',
  /** The systemd unit, where systemd is PID 1. */
  unitFile: '/etc/systemd/system/palisade-agent.service',
  service: 'palisade-agent',
  /** Where systemd is not PID 1: the background agent's pid and log, inside the state directory. */
  pidFile: '/var/lib/palisade-agent/palisade-agent.pid',
  logFile: '/var/lib/palisade-agent/palisade-agent.log',
  /** The macOS launchd daemon (untested: docs/deployment.md). */
  launchdPlist: '/Library/LaunchDaemons/com.palisade.agent.plist',
  launchdLabel: 'com.palisade.agent',
} as const;

/** `uname -m` names, as the package file names and the download route use them. */
export const AGENT_PACKAGE_ARCHES = ['x86_64', 'aarch64'] as const;
export type AgentPackageArch = (typeof AGENT_PACKAGE_ARCHES)[number];
export const AGENT_PACKAGE_PLATFORMS = ['linux', 'macos'] as const;
export type AgentPackagePlatform = (typeof AGENT_PACKAGE_PLATFORMS)[number];

/**
 * `palisade-agent-<version>-<platform>-<arch>.tar.gz`, version as semver (with an optional
 * pre-release such as `0.2.0-rc.1`): the manager learns what a package is from its name alone.
 */
export const AGENT_PACKAGE_FILE =
  /^palisade-agent-([0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?)-(linux|macos)-(x86_64|aarch64)\.tar\.gz$/;

export function agentPackageFileName(version: string, platform: AgentPackagePlatform, arch: AgentPackageArch): string {
  return `palisade-agent-${version}-${platform}-${arch}.tar.gz`;
}

/** The `uname -m` name of a Node.js `process.arch`, or null for an architecture we do not package. */
export function packageArchOf(nodeArch: string): AgentPackageArch | null {
  return nodeArch === 'x64' ? 'x86_64' : nodeArch === 'arm64' ? 'aarch64' : null;
}
