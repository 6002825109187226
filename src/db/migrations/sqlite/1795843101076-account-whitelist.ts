import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AccountWhitelist1795843101076 implements MigrationInterface {
  name = 'AccountWhitelist1795843101076';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "account_whitelist" ("email_normalized" varchar(254) PRIMARY KEY NOT NULL, "created_at" datetime(3) NOT NULL)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "account_whitelist"`);
  }
}
