import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AccountWhitelist1795843101077 implements MigrationInterface {
  name = 'AccountWhitelist1795843101077';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // utf8mb4_bin: an email on the list matches only itself, byte for byte (the default collations fold accents).
    await queryRunner.query(
      'CREATE TABLE `account_whitelist` (`email_normalized` varchar(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, `created_at` datetime(3) NOT NULL, PRIMARY KEY (`email_normalized`)) ENGINE=InnoDB',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE `account_whitelist`');
  }
}
