import { readFileSync } from 'node:fs';

/**
 * The `version` of the agent's package.json, read once from beside the compiled code
 * (dist/../package.json, which npm always packs). The single-executable package has no
 * package.json beside it: scripts/package-agent.mjs replaces this module in its bundle with
 * the version it builds (by default this same `version`).
 */
function packageVersion(): string {
  const file = new URL('../package.json', import.meta.url);
  const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
  if (typeof version !== 'string' || version === '') throw new Error(`${file.pathname} has no "version"`);
  return version;
}

/** This agent's version, reported at activation and in every heartbeat. */
export const AGENT_VERSION: string = packageVersion();
