import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Wallet history, the account's security log and the devices each account has seen. deviceIds compare byte for byte (utf8mb4_bin). */
export class WalletHistory1795840000000 implements MigrationInterface {
  name = 'WalletHistory1795840000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE \`wallet_versions\` (\`account_id\` int NOT NULL, \`sequence\` int NOT NULL, \`hmac\` varchar(255) NOT NULL, \`device_id\` varchar(255) CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NULL, \`updated_at\` datetime(3) NOT NULL, \`bytes\` int NOT NULL, \`encrypted_wallet\` longtext NULL, PRIMARY KEY (\`account_id\`, \`sequence\`)) ENGINE=InnoDB`);
    await queryRunner.query(`CREATE TABLE \`account_events\` (\`id\` int NOT NULL AUTO_INCREMENT, \`account_id\` int NOT NULL, \`at\` datetime(3) NOT NULL, \`kind\` varchar(32) NOT NULL, \`device_id\` varchar(255) CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NULL, \`new_device\` tinyint NULL, \`sequence\` int NULL, \`ip_prefix\` varchar(64) NULL, INDEX \`ix_account_events_account_at\` (\`account_id\`, \`at\`), INDEX \`ix_account_events_at\` (\`at\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
    await queryRunner.query(`CREATE TABLE \`known_devices\` (\`account_id\` int NOT NULL, \`device_id\` varchar(255) CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NOT NULL, \`first_login_at\` datetime(3) NOT NULL, PRIMARY KEY (\`account_id\`, \`device_id\`)) ENGINE=InnoDB`);
    await queryRunner.query(`ALTER TABLE \`wallet_versions\` ADD CONSTRAINT \`fk_wallet_versions_account\` FOREIGN KEY (\`account_id\`) REFERENCES \`accounts\`(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE \`account_events\` ADD CONSTRAINT \`fk_account_events_account\` FOREIGN KEY (\`account_id\`) REFERENCES \`accounts\`(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE \`known_devices\` ADD CONSTRAINT \`fk_known_devices_account\` FOREIGN KEY (\`account_id\`) REFERENCES \`accounts\`(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION`);
    // Every existing wallet's current state gets its header (and keeps its content); the writer is unknown.
    await queryRunner.query(`INSERT INTO \`wallet_versions\` (\`account_id\`, \`sequence\`, \`hmac\`, \`device_id\`, \`updated_at\`, \`bytes\`, \`encrypted_wallet\`) SELECT \`account_id\`, \`sequence\`, \`hmac\`, NULL, \`updated_at\`, LENGTH(\`encrypted_wallet\`), \`encrypted_wallet\` FROM \`wallets\``);
    // Devices holding a token have logged in before: their next login is not a new device.
    await queryRunner.query(`INSERT INTO \`known_devices\` (\`account_id\`, \`device_id\`, \`first_login_at\`) SELECT \`account_id\`, \`device_id\`, \`created_at\` FROM \`auth_tokens\``);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE \`known_devices\` DROP FOREIGN KEY \`fk_known_devices_account\``);
    await queryRunner.query(`ALTER TABLE \`account_events\` DROP FOREIGN KEY \`fk_account_events_account\``);
    await queryRunner.query(`ALTER TABLE \`wallet_versions\` DROP FOREIGN KEY \`fk_wallet_versions_account\``);
    await queryRunner.query(`DROP TABLE \`known_devices\``);
    await queryRunner.query(`DROP INDEX \`ix_account_events_at\` ON \`account_events\``);
    await queryRunner.query(`DROP INDEX \`ix_account_events_account_at\` ON \`account_events\``);
    await queryRunner.query(`DROP TABLE \`account_events\``);
    await queryRunner.query(`DROP TABLE \`wallet_versions\``);
  }
}
