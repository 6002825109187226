import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Every column that identifies, with its type and nullability as the entities declare them. */
const IDENTITY_COLUMNS: ReadonlyArray<[table: string, column: string, type: string, nullability: string]> = [
  ['accounts', 'email_normalized', 'varchar(254)', 'NOT NULL'],
  ['account_whitelist', 'email_normalized', 'varchar(254)', 'NOT NULL'],
  ['pending_registrations', 'email_normalized', 'varchar(254)', 'NOT NULL'],
  ['pending_registrations', 'code_hash', 'varchar(64)', 'NOT NULL'],
  ['auth_tokens', 'device_id', 'varchar(255)', 'NOT NULL'],
  ['auth_tokens', 'token_hash', 'varchar(64)', 'NOT NULL'],
  ['known_devices', 'device_id', 'varchar(255)', 'NOT NULL'],
  ['wallet_versions', 'device_id', 'varchar(255)', 'NULL DEFAULT NULL'],
  ['account_events', 'device_id', 'varchar(255)', 'NULL DEFAULT NULL'],
  ['recovery_codes', 'code_hash', 'varchar(64)', 'NOT NULL'],
];

/**
 * utf8mb4_bin is a PAD SPACE collation: `'laptop ' = 'laptop'` is true, so
 * revokeDevice("laptop ") deleted laptop's token while the socket, matched
 * exactly in the application, stayed open. The no-pad binary collation compares
 * exactly. Keys unique under PAD SPACE stay unique under NO PAD (it tells more
 * strings apart, never fewer), so this cannot fail on existing rows; going back
 * can, when two keys now differ only by trailing spaces.
 */
export class NoPadIdentity1795910000001 implements MigrationInterface {
  name = 'NoPadIdentity1795910000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await modifyAll(queryRunner, await noPadBinary(queryRunner));
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await modifyAll(queryRunner, 'utf8mb4_bin');
  }
}

/** MariaDB (10.2+) names it utf8mb4_nopad_bin; MySQL 8 has none of that name, and its utf8mb4_0900_bin is NO PAD. */
export async function noPadBinary(queryRunner: QueryRunner): Promise<string> {
  const rows: unknown[] = await queryRunner.query("SHOW COLLATION WHERE Collation = 'utf8mb4_nopad_bin'");
  return rows.length > 0 ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
}

async function modifyAll(queryRunner: QueryRunner, collation: string): Promise<void> {
  const byTable = new Map<string, string[]>();
  for (const [table, column, type, nullability] of IDENTITY_COLUMNS) {
    byTable.set(table, [...(byTable.get(table) ?? []), `MODIFY \`${column}\` ${type} CHARACTER SET utf8mb4 COLLATE ${collation} ${nullability}`]);
  }
  for (const [table, changes] of byTable) await queryRunner.query(`ALTER TABLE \`${table}\` ${changes.join(', ')}`);
}
