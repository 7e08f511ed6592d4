import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { SQLITE_DIALECT } from '../sqlite/sqlite-store.js';
import { migrationProvider } from './migration-provider.js';

test("0006 rewrites rules stored in the first model into Deep Security's, meaning kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-m0006-'));
  // biome-ignore lint/suspicious/noExplicitAny: the schema as of 0005, before the current Database type
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(join(dir, 'm.db')) }) });
  try {
    const migrator = new Migrator({
      db,
      provider: migrationProvider(SQLITE_DIALECT),
    });
    assert.equal((await migrator.migrateTo('0005_firewall')).error, undefined);
    const first = (rule: Record<string, unknown>) => JSON.stringify({ description: '', ...rule });
    await db
      .insertInto('firewall_rules')
      .values([
        {
          name: 'web',
          created_at: 1,
          updated_at: 1,
          rule: first({
            name: 'web',
            action: 'allow',
            priority: 0,
            direction: 'incoming',
            frameType: 'any',
            frameTypeNot: false,
            protocol: 'tcp',
            protocolNot: false,
            sourceIp: ['10.0.0.0/8', '198.18.0.1-198.18.0.9'],
            sourceIpNot: true,
            destinationIp: 'any',
            destinationIpNot: false,
            sourceMac: 'any',
            sourceMacNot: false,
            destinationMac: ['02:00:00:00:00:01'],
            destinationMacNot: false,
            sourcePorts: 'any',
            sourcePortsNot: false,
            destinationPorts: [80, '8000-8080'],
            destinationPortsNot: false,
          }),
        },
        {
          name: 'gre',
          created_at: 1,
          updated_at: 1,
          rule: first({
            name: 'gre',
            action: 'deny',
            priority: 3,
            direction: 'outgoing',
            frameType: 'ipv4',
            frameTypeNot: false,
            protocol: 47,
            protocolNot: false,
            sourceIp: 'any',
            sourceIpNot: false,
            destinationIp: 'any',
            destinationIpNot: false,
            sourceMac: 'any',
            sourceMacNot: false,
            destinationMac: 'any',
            destinationMacNot: false,
            sourcePorts: 'any',
            sourcePortsNot: false,
            destinationPorts: 'any',
            destinationPortsNot: false,
          }),
        },
      ])
      .execute();
    assert.equal((await migrator.migrateToLatest()).error, undefined);
    const rows = await db.selectFrom('firewall_rules').select(['name', 'rule']).orderBy('id').execute();
    const web = JSON.parse(rows[0]!.rule);
    assert.equal(web.frameType, 'any', 'a rule stored as any stays any');
    assert.equal(web.priority, '0');
    assert.deepEqual(
      [web.sourceIPType, web.sourceIPMultiple, web.sourceIPNot],
      ['multiple', ['10.0.0.0/8', '198.18.0.1-198.18.0.9'], true],
    );
    assert.deepEqual([web.destinationMACType, web.destinationMACMultiple], ['multiple', ['02:00:00:00:00:01']]);
    assert.deepEqual([web.destinationPortType, web.destinationPortMultiple], ['multiple', ['80', '8000-8080']]);
    assert.equal(web.sourcePortType, 'any');
    assert.equal('sourceIp' in web || 'id' in web, false);
    const gre = JSON.parse(rows[1]!.rule);
    assert.deepEqual(
      [gre.frameType, gre.frameNumber, gre.protocol, gre.protocolNumber, gre.priority],
      ['ipv4', 2048, 'other', 47, '3'],
    );
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
