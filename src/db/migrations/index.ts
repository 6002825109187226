import { InitialSchema1795666896627 as MysqlInitialSchema } from './mysql/1795666896627-initial-schema';
import { VerificationTokens1795667099515 as MysqlVerificationTokens } from './mysql/1795667099515-verification-tokens';
import { ExactIdentity1795700000001 as MysqlExactIdentity } from './mysql/1795700000001-exact-identity';
import { AccountKeyParams1795700000101 as MysqlAccountKeyParams } from './mysql/1795700000101-account-key-params';
import { WalletHistory1795840000000 as MysqlWalletHistory } from './mysql/1795840000000-wallet-history';
import { AccountWhitelist1795843101077 as MysqlAccountWhitelist } from './mysql/1795843101077-account-whitelist';
import { PendingRegistrations1795850000001 as MysqlPendingRegistrations } from './mysql/1795850000001-pending-registrations';
import { SecondFactor1795900000001 as MysqlSecondFactor } from './mysql/1795900000001-second-factor';
import { NoPadIdentity1795910000001 as MysqlNoPadIdentity } from './mysql/1795910000001-no-pad-identity';
import { InitialSchema1795666894848 as SqliteInitialSchema } from './sqlite/1795666894848-initial-schema';
import { VerificationTokens1795667096102 as SqliteVerificationTokens } from './sqlite/1795667096102-verification-tokens';
import { ExactIdentity1795700000000 as SqliteExactIdentity } from './sqlite/1795700000000-exact-identity';
import { AccountKeyParams1795700000100 as SqliteAccountKeyParams } from './sqlite/1795700000100-account-key-params';
import { WalletHistory1795840000000 as SqliteWalletHistory } from './sqlite/1795840000000-wallet-history';
import { AccountWhitelist1795843101076 as SqliteAccountWhitelist } from './sqlite/1795843101076-account-whitelist';
import { PendingRegistrations1795850000000 as SqlitePendingRegistrations } from './sqlite/1795850000000-pending-registrations';
import { SecondFactor1795900000000 as SqliteSecondFactor } from './sqlite/1795900000000-second-factor';

/** Migrations are per dialect (their DDL differs); both lists run in CI, in timestamp order. */
export const sqliteMigrations: Function[] = [
  SqliteInitialSchema,
  SqliteVerificationTokens,
  SqliteExactIdentity,
  SqliteAccountKeyParams,
  SqliteWalletHistory,
  SqliteAccountWhitelist,
  SqlitePendingRegistrations,
  SqliteSecondFactor,
];
export const mysqlMigrations: Function[] = [
  MysqlInitialSchema,
  MysqlVerificationTokens,
  MysqlExactIdentity,
  MysqlAccountKeyParams,
  MysqlWalletHistory,
  MysqlAccountWhitelist,
  MysqlPendingRegistrations,
  MysqlSecondFactor,
  MysqlNoPadIdentity,
];
