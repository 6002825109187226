import type { EntitySchemaColumnOptions } from 'typeorm';

/** Millisecond date-times, stored in UTC (the MySQL driver runs with timezone 'Z'). */
export const dateTime: Pick<EntitySchemaColumnOptions, 'type' | 'precision'> = { type: 'datetime', precision: 3 };

/**
 * For a column that identifies (a deviceId): MySQL's default collations fold
 * case and accents, so "Phone" would equal "phone", and utf8mb4_bin pads, so
 * "laptop " equals "laptop"; utf8mb4_nopad_bin compares exactly, as SQLite's
 * default BINARY collation already does (migration NoPadIdentity).
 */
export function binaryCollation(dialect: 'sqlite' | 'mysql'): Pick<EntitySchemaColumnOptions, 'charset' | 'collation'> {
  return dialect === 'mysql' ? { charset: 'utf8mb4', collation: 'utf8mb4_nopad_bin' } : {};
}

/**
 * A nullable column. MariaDB reports a nullable column's default as the text
 * NULL, which TypeORM's mysql driver (unlike its mariadb one) takes for a
 * changed default; declaring DEFAULT NULL, which is what the column has anyway,
 * keeps the schema check quiet on both servers' migrations.
 */
export function nullable(dialect: 'sqlite' | 'mysql'): Pick<EntitySchemaColumnOptions, 'nullable' | 'default'> {
  return dialect === 'mysql' ? { nullable: true, default: () => 'NULL' } : { nullable: true };
}
