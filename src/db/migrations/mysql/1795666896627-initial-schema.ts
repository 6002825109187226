import type { MigrationInterface, QueryRunner } from "typeorm";

export class InitialSchema1795666896627 implements MigrationInterface {
    name = 'InitialSchema1795666896627'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`accounts\` (\`id\` int NOT NULL AUTO_INCREMENT, \`email\` varchar(254) NOT NULL, \`email_normalized\` varchar(254) NOT NULL, \`password_hash\` varchar(255) NOT NULL, \`client_salt_seed\` varchar(64) NOT NULL, \`verified\` tinyint NOT NULL, \`created_at\` datetime(3) NOT NULL, UNIQUE INDEX \`uq_accounts_email_normalized\` (\`email_normalized\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`auth_tokens\` (\`id\` int NOT NULL AUTO_INCREMENT, \`account_id\` int NOT NULL, \`device_id\` varchar(255) NOT NULL, \`token_hash\` varchar(64) NOT NULL, \`created_at\` datetime(3) NOT NULL, \`last_used_at\` datetime(3) NOT NULL, \`expires_at\` datetime(3) NOT NULL, UNIQUE INDEX \`uq_auth_tokens_token_hash\` (\`token_hash\`), UNIQUE INDEX \`uq_auth_tokens_account_device\` (\`account_id\`, \`device_id\`), INDEX \`ix_auth_tokens_expires_at\` (\`expires_at\`), PRIMARY KEY (\`id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`wallets\` (\`account_id\` int NOT NULL, \`encrypted_wallet\` longtext NOT NULL, \`hmac\` varchar(255) NOT NULL, \`sequence\` int NOT NULL, \`updated_at\` datetime(3) NOT NULL, PRIMARY KEY (\`account_id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`server_settings\` (\`name\` varchar(64) NOT NULL, \`value\` varchar(1024) NOT NULL, PRIMARY KEY (\`name\`)) ENGINE=InnoDB`);
        await queryRunner.query(`ALTER TABLE \`auth_tokens\` ADD CONSTRAINT \`fk_auth_tokens_account\` FOREIGN KEY (\`account_id\`) REFERENCES \`accounts\`(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE \`wallets\` ADD CONSTRAINT \`fk_wallets_account\` FOREIGN KEY (\`account_id\`) REFERENCES \`accounts\`(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`wallets\` DROP FOREIGN KEY \`fk_wallets_account\``);
        await queryRunner.query(`ALTER TABLE \`auth_tokens\` DROP FOREIGN KEY \`fk_auth_tokens_account\``);
        await queryRunner.query(`DROP TABLE \`server_settings\``);
        await queryRunner.query(`DROP TABLE \`wallets\``);
        await queryRunner.query(`DROP INDEX \`ix_auth_tokens_expires_at\` ON \`auth_tokens\``);
        await queryRunner.query(`DROP INDEX \`uq_auth_tokens_account_device\` ON \`auth_tokens\``);
        await queryRunner.query(`DROP INDEX \`uq_auth_tokens_token_hash\` ON \`auth_tokens\``);
        await queryRunner.query(`DROP TABLE \`auth_tokens\``);
        await queryRunner.query(`DROP INDEX \`uq_accounts_email_normalized\` ON \`accounts\``);
        await queryRunner.query(`DROP TABLE \`accounts\``);
    }

}
