import type { MigrationInterface, QueryRunner } from 'typeorm';
import { renormalizeEmails } from '../renormalize-emails';

/**
 * The columns that identify (an account's email key, a token's deviceId and
 * hash) compare byte for byte: MariaDB's default collations fold case and
 * accents and ignore some characters, so `jöe@x` found `joe@x`'s account and
 * revokeDevice("LAPTOP") deleted the token of `laptop`. Then the email keys
 * move to NFC. Keys unique under the old collation stay unique under the binary one.
 */
export class ExactIdentity1795700000001 implements MigrationInterface {
  name = 'ExactIdentity1795700000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE `accounts` MODIFY `email_normalized` varchar(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL');
    await queryRunner.query(
      'ALTER TABLE `auth_tokens` MODIFY `device_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, MODIFY `token_hash` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
    );
    await queryRunner.query('ALTER TABLE `verification_tokens` MODIFY `token_hash` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL');
    await renormalizeEmails(queryRunner, (name) => `\`${name}\``);
  }

  /** Keys are left in NFC (still valid lower-case keys); only the collations go back. */
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE `verification_tokens` MODIFY `token_hash` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL');
    await queryRunner.query(
      'ALTER TABLE `auth_tokens` MODIFY `device_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL, MODIFY `token_hash` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL',
    );
    await queryRunner.query('ALTER TABLE `accounts` MODIFY `email_normalized` varchar(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL');
  }
}
