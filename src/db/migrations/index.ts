import { InitialSchema1795666896627 as MysqlInitialSchema } from './mysql/1795666896627-initial-schema';
import { VerificationTokens1795667099515 as MysqlVerificationTokens } from './mysql/1795667099515-verification-tokens';
import { InitialSchema1795666894848 as SqliteInitialSchema } from './sqlite/1795666894848-initial-schema';
import { VerificationTokens1795667096102 as SqliteVerificationTokens } from './sqlite/1795667096102-verification-tokens';

/** Migrations are per dialect (their DDL differs); both lists run in CI. */
export const sqliteMigrations: Function[] = [SqliteInitialSchema, SqliteVerificationTokens];
export const mysqlMigrations: Function[] = [MysqlInitialSchema, MysqlVerificationTokens];
