import { InitialSchema1795666896627 as MysqlInitialSchema } from './mysql/1795666896627-initial-schema';
import { VerificationTokens1795667099515 as MysqlVerificationTokens } from './mysql/1795667099515-verification-tokens';
import { WalletHistory1795840000000 as MysqlWalletHistory } from './mysql/1795840000000-wallet-history';
import { AccountWhitelist1795843101077 as MysqlAccountWhitelist } from './mysql/1795843101077-account-whitelist';
import { InitialSchema1795666894848 as SqliteInitialSchema } from './sqlite/1795666894848-initial-schema';
import { VerificationTokens1795667096102 as SqliteVerificationTokens } from './sqlite/1795667096102-verification-tokens';
import { WalletHistory1795840000000 as SqliteWalletHistory } from './sqlite/1795840000000-wallet-history';
import { AccountWhitelist1795843101076 as SqliteAccountWhitelist } from './sqlite/1795843101076-account-whitelist';

/** Migrations are per dialect (their DDL differs); both lists run in CI. */
export const sqliteMigrations: Function[] = [SqliteInitialSchema, SqliteVerificationTokens, SqliteWalletHistory, SqliteAccountWhitelist];
export const mysqlMigrations: Function[] = [MysqlInitialSchema, MysqlVerificationTokens, MysqlWalletHistory, MysqlAccountWhitelist];
