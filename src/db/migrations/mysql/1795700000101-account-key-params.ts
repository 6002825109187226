import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The scrypt parameters of each account. The defaults are what every account
 * created before protocol 2 derived with (N=2^20, r=8, p=1), so existing rows
 * carry exactly that; every insert sets the columns explicitly.
 */
export class AccountKeyParams1795700000101 implements MigrationInterface {
  name = 'AccountKeyParams1795700000101';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE `accounts` ADD `key_n` int NOT NULL DEFAULT 1048576, ADD `key_r` int NOT NULL DEFAULT 8, ADD `key_p` int NOT NULL DEFAULT 1',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE `accounts` DROP COLUMN `key_p`, DROP COLUMN `key_r`, DROP COLUMN `key_n`');
  }
}
