import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The scrypt parameters of each account. The defaults are what every account
 * created before protocol 2 derived with (N=2^20, r=8, p=1), so existing rows
 * carry exactly that; every insert sets the columns explicitly.
 */
export class AccountKeyParams1795700000100 implements MigrationInterface {
  name = 'AccountKeyParams1795700000100';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "accounts" ADD COLUMN "key_n" integer NOT NULL DEFAULT (1048576)');
    await queryRunner.query('ALTER TABLE "accounts" ADD COLUMN "key_r" integer NOT NULL DEFAULT (8)');
    await queryRunner.query('ALTER TABLE "accounts" ADD COLUMN "key_p" integer NOT NULL DEFAULT (1)');
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "accounts" DROP COLUMN "key_p"');
    await queryRunner.query('ALTER TABLE "accounts" DROP COLUMN "key_r"');
    await queryRunner.query('ALTER TABLE "accounts" DROP COLUMN "key_n"');
  }
}
