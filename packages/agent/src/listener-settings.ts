import { existsSync, readFileSync } from 'node:fs';
import type { SecurityConfiguration } from '@palisade/core';
import { writeFileAtomic } from './atomic-file.js';
import type { StateDir } from './state-dir.js';

/**
 * Local listener settings (`listener.json` in the state directory), for labs and tests: they
 * override what the configuration says about *where* to listen, never *whether* to (that is the
 * communication direction). They belong to the host, so `reset` keeps them.
 */
export interface ListenerSettings {
  /**
   * Port to listen on instead of the configuration's `listeningPort` (the manager's
   * `platformSettingAgentListeningPort`, 4118 by default); 0 = any free port.
   */
  port?: number;
  /** Address to bind; default all interfaces. */
  bindAddress?: string;
  /** Address the manager should dial (NAT, labs); default: the address the manager sees the agent at. */
  announceAddress?: string;
}

const SETTINGS_FILE = 'listener.json';

export function loadListenerSettings(state: StateDir): ListenerSettings {
  const file = state.path(SETTINGS_FILE);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ListenerSettings;
  } catch {
    return {};
  }
}

/** Merges `changes` into the stored settings; returns the result. */
export function saveListenerSettings(state: StateDir, changes: ListenerSettings): ListenerSettings {
  state.ensure();
  const merged = { ...loadListenerSettings(state), ...changes };
  writeFileAtomic(state.path(SETTINGS_FILE), `${JSON.stringify(merged, null, 2)}\n`, 0o600);
  return merged;
}

/**
 * The configuration as this host enforces it: with a local `--listen-port` (listener.json, not 0)
 * in place of the configuration's listening port, so the hidden rule and the nftables table open
 * the port the listener is on, not the one the manager's setting names. The fingerprint is
 * always the manager's configuration's, never this one's.
 */
export function withLocalListeningPort(configuration: SecurityConfiguration, state: StateDir): SecurityConfiguration {
  const port = loadListenerSettings(state).port;
  if (!port || port === configuration.communication.listeningPort) return configuration;
  return { ...configuration, communication: { ...configuration.communication, listeningPort: port } };
}
