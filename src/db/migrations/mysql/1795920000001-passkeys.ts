import type { MigrationInterface, QueryRunner } from 'typeorm';
import { noPadBinary } from './1795910000001-no-pad-identity';

/**
 * Protocol 3's passkeys: each account's WebAuthn credentials (public key, sign
 * counter, name, the optional PRF-wrapped keys), and the challenges handed out
 * and not yet answered, kept in the database so that any instance can answer
 * the second half of a ceremony. Credential hashes and challenges identify, so
 * they compare exactly (the no-pad binary collation, as NoPadIdentity chose).
 */
export class Passkeys1795920000001 implements MigrationInterface {
  name = 'Passkeys1795920000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const exact = `CHARACTER SET "utf8mb4" COLLATE "${await noPadBinary(queryRunner)}"`;
    await queryRunner.query(
      `CREATE TABLE \`passkeys\` (\`id\` int NOT NULL AUTO_INCREMENT, \`account_id\` int NOT NULL, \`credential_hash\` varchar(64) ${exact} NOT NULL, \`credential_id\` varchar(1400) ${exact} NOT NULL, \`public_key\` text NOT NULL, \`sign_count\` bigint NOT NULL, \`transports\` varchar(255) NULL DEFAULT NULL, \`name\` varchar(64) NOT NULL, \`wrapped_keys\` varchar(124) NULL DEFAULT NULL, \`created_at\` datetime(3) NOT NULL, \`last_used_at\` datetime(3) NULL DEFAULT NULL, UNIQUE INDEX \`uq_passkeys_credential_hash\` (\`credential_hash\`), INDEX \`ix_passkeys_account\` (\`account_id\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`,
    );
    await queryRunner.query(
      `CREATE TABLE \`webauthn_challenges\` (\`challenge\` varchar(64) ${exact} NOT NULL, \`purpose\` varchar(16) NOT NULL, \`account_id\` int NULL DEFAULT NULL, \`expires_at\` datetime(3) NOT NULL, INDEX \`ix_webauthn_challenges_expires_at\` (\`expires_at\`), PRIMARY KEY (\`challenge\`)) ENGINE=InnoDB`,
    );
    await queryRunner.query(
      'ALTER TABLE `passkeys` ADD CONSTRAINT `fk_passkeys_account` FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON DELETE CASCADE ON UPDATE NO ACTION',
    );
    await queryRunner.query(
      'ALTER TABLE `webauthn_challenges` ADD CONSTRAINT `fk_webauthn_challenges_account` FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE `webauthn_challenges` DROP FOREIGN KEY `fk_webauthn_challenges_account`');
    await queryRunner.query('ALTER TABLE `passkeys` DROP FOREIGN KEY `fk_passkeys_account`');
    await queryRunner.query('DROP TABLE `webauthn_challenges`');
    await queryRunner.query('DROP TABLE `passkeys`');
  }
}
