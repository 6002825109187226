import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1795666894848 implements MigrationInterface {
  name = 'InitialSchema1795666894848';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "accounts" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "email" varchar(254) NOT NULL, "email_normalized" varchar(254) NOT NULL, "password_hash" varchar(255) NOT NULL, "client_salt_seed" varchar(64) NOT NULL, "verified" boolean NOT NULL, "created_at" datetime(3) NOT NULL)`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_accounts_email_normalized" ON "accounts" ("email_normalized") `);
    await queryRunner.query(`CREATE TABLE "auth_tokens" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "account_id" integer NOT NULL, "device_id" varchar(255) NOT NULL, "token_hash" varchar(64) NOT NULL, "created_at" datetime(3) NOT NULL, "last_used_at" datetime(3) NOT NULL, "expires_at" datetime(3) NOT NULL, CONSTRAINT "fk_auth_tokens_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_auth_tokens_token_hash" ON "auth_tokens" ("token_hash") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_auth_tokens_account_device" ON "auth_tokens" ("account_id", "device_id") `);
    await queryRunner.query(`CREATE INDEX "ix_auth_tokens_expires_at" ON "auth_tokens" ("expires_at") `);
    await queryRunner.query(`CREATE TABLE "wallets" ("account_id" integer PRIMARY KEY NOT NULL, "encrypted_wallet" text NOT NULL, "hmac" varchar(255) NOT NULL, "sequence" integer NOT NULL, "updated_at" datetime(3) NOT NULL, CONSTRAINT "fk_wallets_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`);
    await queryRunner.query(`CREATE TABLE "server_settings" ("name" varchar(64) PRIMARY KEY NOT NULL, "value" varchar(1024) NOT NULL)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "server_settings"`);
    await queryRunner.query(`DROP TABLE "wallets"`);
    await queryRunner.query(`DROP TABLE "auth_tokens"`);
    await queryRunner.query(`DROP TABLE "accounts"`);
  }
}
