import type { MigrationInterface, QueryRunner } from "typeorm";

export class VerificationTokens1795667099515 implements MigrationInterface {
    name = 'VerificationTokens1795667099515'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`verification_tokens\` (\`account_id\` int NOT NULL, \`token_hash\` varchar(64) NOT NULL, \`created_at\` datetime(3) NOT NULL, \`expires_at\` datetime(3) NOT NULL, UNIQUE INDEX \`uq_verification_tokens_token_hash\` (\`token_hash\`), INDEX \`ix_verification_tokens_expires_at\` (\`expires_at\`), PRIMARY KEY (\`account_id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`ALTER TABLE \`verification_tokens\` ADD CONSTRAINT \`fk_verification_tokens_account\` FOREIGN KEY (\`account_id\`) REFERENCES \`accounts\`(\`id\`) ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE \`verification_tokens\` DROP FOREIGN KEY \`fk_verification_tokens_account\``);
        await queryRunner.query(`DROP INDEX \`ix_verification_tokens_expires_at\` ON \`verification_tokens\``);
        await queryRunner.query(`DROP INDEX \`uq_verification_tokens_token_hash\` ON \`verification_tokens\``);
        await queryRunner.query(`DROP TABLE \`verification_tokens\``);
    }

}
