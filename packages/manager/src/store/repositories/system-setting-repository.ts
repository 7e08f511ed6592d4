import { Repository } from './repository.js';

/** The manager's own settings (e.g. the agent endpoint's TLS policy), by key. */
export class SystemSettingRepository extends Repository {
  /** Null when nothing is stored under `key`. */
  async get(key: string): Promise<string | null> {
    const r = await this.db.selectFrom('system_settings').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value ?? null;
  }

  async set(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('system_settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}
