import type { Kysely, Migration } from 'kysely';

/**
 * The agent's own uptime beside the host's (issue 12, item 14): `uptime_seconds` has always held
 * the host's (`os.uptime()` on the agent); `agent_uptime_seconds` holds how long the agent itself
 * has run, null until an agent that reports it heartbeats. Portable DDL only.
 */
export const m0017AgentUptime = (): Migration => ({
  // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's Database type
  async up(db: Kysely<any>) {
    await db.schema.alterTable('computers').addColumn('agent_uptime_seconds', 'bigint').execute();
  },
});
