/**
 * What other packages' tests and the benchmarks use to run the manager's store for real
 * (`@palisade/manager/testing`): a throwaway PostgreSQL server. Not for production use.
 */
export {
  POSTGRES_BIN,
  PostgresTestServer,
  postgresSkipReason,
  postgresUnavailable,
} from './store/postgres/postgres-test-server.js';
