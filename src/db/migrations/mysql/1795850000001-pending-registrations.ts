import type { MigrationInterface, QueryRunner } from 'typeorm';
import { moveUnverifiedAccounts } from '../pending-registrations';

/**
 * EmailVerify's pending registrations are no longer accounts (account
 * pre-hijacking): they get a table of their own, and the link tokens go (the
 * mail carries a code now, redeemed at the first login).
 */
export class PendingRegistrations1795850000001 implements MigrationInterface {
  name = 'PendingRegistrations1795850000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE `pending_registrations` (`id` int NOT NULL AUTO_INCREMENT, `email` varchar(254) NOT NULL, `email_normalized` varchar(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, `password_hash` varchar(255) NOT NULL, `client_salt_seed` varchar(64) NOT NULL, `key_n` int NOT NULL, `key_r` int NOT NULL, `key_p` int NOT NULL, `code_hash` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, `created_at` datetime(3) NOT NULL, `expires_at` datetime(3) NOT NULL, INDEX `ix_pending_registrations_email_normalized` (`email_normalized`), INDEX `ix_pending_registrations_expires_at` (`expires_at`), PRIMARY KEY (`id`)) ENGINE=InnoDB',
    );
    await moveUnverifiedAccounts(queryRunner, (name) => `\`${name}\``);
    await queryRunner.query('DROP TABLE `verification_tokens`');
  }

  /** Pending registrations are dropped (they are not accounts, and expire within days anyway). */
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE `verification_tokens` (`account_id` int NOT NULL, `token_hash` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, `created_at` datetime(3) NOT NULL, `expires_at` datetime(3) NOT NULL, UNIQUE INDEX `uq_verification_tokens_token_hash` (`token_hash`), INDEX `ix_verification_tokens_expires_at` (`expires_at`), PRIMARY KEY (`account_id`)) ENGINE=InnoDB',
    );
    await queryRunner.query(
      'ALTER TABLE `verification_tokens` ADD CONSTRAINT `fk_verification_tokens_account` FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query('DROP TABLE `pending_registrations`');
  }
}
