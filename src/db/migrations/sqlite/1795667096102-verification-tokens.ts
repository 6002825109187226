import type { MigrationInterface, QueryRunner } from 'typeorm';

export class VerificationTokens1795667096102 implements MigrationInterface {
  name = 'VerificationTokens1795667096102';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "verification_tokens" ("account_id" integer PRIMARY KEY NOT NULL, "token_hash" varchar(64) NOT NULL, "created_at" datetime(3) NOT NULL, "expires_at" datetime(3) NOT NULL, CONSTRAINT "fk_verification_tokens_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_verification_tokens_token_hash" ON "verification_tokens" ("token_hash") `);
    await queryRunner.query(`CREATE INDEX "ix_verification_tokens_expires_at" ON "verification_tokens" ("expires_at") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "verification_tokens"`);
  }
}
