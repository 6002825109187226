import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config';
import { AccountEntity } from './entities/account.entity';
import { AuthTokenEntity } from './entities/auth-token.entity';
import { PendingRegistrationEntity } from './entities/pending-registration.entity';
import { ServerSettingEntity } from './entities/server-setting.entity';
import { walletEntity } from './entities/wallet.entity';
import { walletVersionEntity } from './entities/wallet-version.entity';
import { accountEventEntity } from './entities/account-event.entity';
import { knownDeviceEntity } from './entities/known-device.entity';
import { whitelistEntryEntity } from './entities/whitelist-entry.entity';
import { recoveryCodeEntity, totpEntity } from './entities/second-factor.entity';
import { Database } from './database';
import { mysqlMigrations, sqliteMigrations } from './migrations';
import { sqliteDriver } from './sqlite-driver';

export function entitiesFor(dialect: DatabaseConfig['dialect']) {
  return [
    AccountEntity,
    AuthTokenEntity,
    walletEntity(dialect),
    ServerSettingEntity,
    PendingRegistrationEntity,
    walletVersionEntity(dialect),
    accountEventEntity(dialect),
    knownDeviceEntity(dialect),
    whitelistEntryEntity(dialect),
    totpEntity(dialect),
    recoveryCodeEntity(dialect),
  ];
}

/**
 * SQLite: WAL with synchronous=FULL. In WAL mode, NORMAL may lose the last
 * commits on power loss (they are only in the WAL, not yet fsynced); FULL fsyncs
 * the WAL on every commit, so an acknowledged wallet update survives a power cut.
 */
const SQLITE_PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON', 'busy_timeout = 5000'];

export function createDataSource(config: DatabaseConfig, overrides: { poolSize?: number } = {}): DataSource {
  return new DataSource(dataSourceOptions(config, overrides));
}

export function dataSourceOptions(config: DatabaseConfig, overrides: { poolSize?: number } = {}): DataSourceOptions {
  const common = {
    entities: entitiesFor(config.dialect),
    synchronize: false,
    migrationsRun: false,
    logging: false,
  } as const;
  if (config.dialect === 'sqlite') {
    mkdirSync(path.dirname(config.url), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      driver: sqliteDriver(),
      database: config.url,
      migrations: sqliteMigrations,
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
      },
    };
  }
  return {
    ...common,
    type: 'mysql',
    url: config.url,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    migrations: mysqlMigrations,
    poolSize: overrides.poolSize ?? 10,
    connectTimeout: 5000,
    // Fail fast while the database is away instead of queueing requests without bound.
    extra: { waitForConnections: true, queueLimit: 1000, enableKeepAlive: true },
  };
}

/** Connects and brings the schema up to date with this dialect's migrations. */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const dataSource = createDataSource(config);
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return new Database(dataSource, config.dialect);
}
