/** This agent's version, reported at activation and in every heartbeat. */
export const AGENT_VERSION = '0.1.0';
