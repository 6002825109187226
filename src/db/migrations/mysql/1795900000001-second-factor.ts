import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Protocol 3's second factor: an account's TOTP (sealed secrets, the last used
 * step, a pending enrolment) and its recovery codes (keyed hashes, compared byte
 * for byte); the security log says how each login signed in and which method a
 * second-factor event is about. Every login before this was by password alone,
 * and is marked so.
 */
export class SecondFactor1795900000001 implements MigrationInterface {
  name = 'SecondFactor1795900000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE `account_totp` (`account_id` int NOT NULL, `secret` varchar(255) NULL DEFAULT NULL, `enabled_at` datetime(3) NULL DEFAULT NULL, `last_used_step` int NULL DEFAULT NULL, `pending_secret` varchar(255) NULL DEFAULT NULL, `pending_expires_at` datetime(3) NULL DEFAULT NULL, PRIMARY KEY (`account_id`)) ENGINE=InnoDB',
    );
    await queryRunner.query(
      'CREATE TABLE `recovery_codes` (`account_id` int NOT NULL, `code_hash` varchar(64) CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NOT NULL, `created_at` datetime(3) NOT NULL, PRIMARY KEY (`account_id`, `code_hash`)) ENGINE=InnoDB',
    );
    await queryRunner.query('ALTER TABLE `account_events` ADD `login_method` varchar(32) NULL DEFAULT NULL');
    await queryRunner.query('ALTER TABLE `account_events` ADD `method` varchar(16) NULL DEFAULT NULL');
    await queryRunner.query(
      'ALTER TABLE `account_totp` ADD CONSTRAINT `fk_account_totp_account` FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE `recovery_codes` ADD CONSTRAINT `fk_recovery_codes_account` FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query("UPDATE `account_events` SET `login_method` = 'PASSWORD' WHERE `kind` = 'LOGIN'");
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE `recovery_codes` DROP FOREIGN KEY `fk_recovery_codes_account`');
    await queryRunner.query('ALTER TABLE `account_totp` DROP FOREIGN KEY `fk_account_totp_account`');
    await queryRunner.query('ALTER TABLE `account_events` DROP COLUMN `method`');
    await queryRunner.query('ALTER TABLE `account_events` DROP COLUMN `login_method`');
    await queryRunner.query('DROP TABLE `recovery_codes`');
    await queryRunner.query('DROP TABLE `account_totp`');
  }
}
