import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { StoreSession } from '../store-session.js';

/** A repository: the statements of one aggregate, run on its unit of work's session. */
export abstract class Repository {
  constructor(protected readonly session: StoreSession) {}

  protected get db(): Kysely<Database> {
    return this.session.db;
  }
}
