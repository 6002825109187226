import { DataSource, type DataSourceOptions } from 'typeorm';
import { accountEntity } from './entities/account.entity';
import { authTokenEntity } from './entities/auth-token.entity';
import { pendingRegistrationEntity } from './entities/pending-registration.entity';
import { ServerSettingEntity } from './entities/server-setting.entity';
import { walletEntity } from './entities/wallet.entity';
import { walletVersionEntity } from './entities/wallet-version.entity';
import { accountEventEntity } from './entities/account-event.entity';
import { knownDeviceEntity } from './entities/known-device.entity';
import { whitelistEntryEntity } from './entities/whitelist-entry.entity';
import { recoveryCodeEntity, totpEntity } from './entities/second-factor.entity';
import { passkeyEntity, webauthnChallengeEntity } from './entities/passkey.entity';
import { Database } from './database';
import { dialectNamed, type DatabaseConfig } from './dialects';
import type { ColumnTypes, ConnectionOverrides } from './dialects/dialect';

export function entitiesFor(columns: ColumnTypes) {
  return [
    accountEntity(columns),
    authTokenEntity(columns),
    walletEntity(columns),
    ServerSettingEntity,
    pendingRegistrationEntity(columns),
    walletVersionEntity(columns),
    accountEventEntity(columns),
    knownDeviceEntity(columns),
    whitelistEntryEntity(columns),
    totpEntity(columns),
    recoveryCodeEntity(columns),
    passkeyEntity(columns),
    webauthnChallengeEntity(columns),
  ];
}

export function createDataSource(config: DatabaseConfig, overrides: ConnectionOverrides = {}): DataSource {
  return new DataSource(dataSourceOptions(config, overrides));
}

export function dataSourceOptions(config: DatabaseConfig, overrides: ConnectionOverrides = {}): DataSourceOptions {
  const dialect = dialectNamed(config.dialect);
  return {
    ...dialect.connectionOptions(config.url, overrides),
    entities: entitiesFor(dialect.columns),
    synchronize: false,
    migrationsRun: false,
    logging: false,
  } as DataSourceOptions;
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
  return new Database(dataSource, dialectNamed(config.dialect));
}
