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

/** Where the database is, for a message: a server URL without its credentials, or the file. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.host) return `at ${parsed.host}${parsed.pathname}`;
  } catch {
    // A file path.
  }
  return `in ${url}`;
}

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

/**
 * The database could not be opened at start-up (it is down, or refuses us): a
 * message for an operator, naming the database and the driver's reason, without
 * the password or a stack.
 */
export class DatabaseUnavailableError extends Error {}

/** Connects and brings the schema up to date with this dialect's migrations. */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const dialect = dialectNamed(config.dialect);
  const dataSource = createDataSource(config);
  try {
    // Before TypeORM's first read, which would wait on a database that answers but cannot serve.
    const { unavailableReason, connectOnce } = dialect;
    const unavailable = unavailableReason && connectOnce ? await connectOnce(config.url, (query) => unavailableReason(query)) : undefined;
    if (unavailable) throw new Error(unavailable);
    await dataSource.initialize();
  } catch (error) {
    const reason = [(error as { code?: unknown }).code, (error as Error).message].filter((part) => typeof part === 'string' && part !== '').join(': ');
    throw new DatabaseUnavailableError(`cannot open the ${dialect.title} database ${where(config.url)}: ${reason || String(error)}`);
  }
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return new Database(dataSource, dialect);
}
