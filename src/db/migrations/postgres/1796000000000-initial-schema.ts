import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL starts at the schema the other dialects reached through their
 * migrations (mysql/, sqlite/): there is no older PostgreSQL database to
 * bring forward. Identifying columns (emails, deviceIds, token and code
 * hashes) use the "C" collation, which compares bytes (PROTOCOL.md,
 * "Accounts": no folding, trailing spaces count); date-times are timestamptz
 * with milliseconds. Written as TypeORM's schema builder derives it from the
 * entities, so the schema check finds nothing pending.
 */
export class InitialSchema1796000000000 implements MigrationInterface {
  name = 'InitialSchema1796000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "accounts" ("id" SERIAL NOT NULL, "email" character varying(254) NOT NULL, "email_normalized" character varying(254) COLLATE "C" NOT NULL, "password_hash" character varying(255) NOT NULL, "client_salt_seed" character varying(64) NOT NULL, "verified" boolean NOT NULL, "key_n" integer NOT NULL DEFAULT '1048576', "key_r" integer NOT NULL DEFAULT '8', "key_p" integer NOT NULL DEFAULT '1', "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_5a7a02c20412299d198e097a8fe" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_accounts_email_normalized" ON "accounts" ("email_normalized")`);
    await queryRunner.query(`CREATE TABLE "auth_tokens" ("id" SERIAL NOT NULL, "account_id" integer NOT NULL, "device_id" character varying(255) COLLATE "C" NOT NULL, "token_hash" character varying(64) COLLATE "C" NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "last_used_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_41e9ddfbb32da18c4e85e45c2fd" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_auth_tokens_token_hash" ON "auth_tokens" ("token_hash")`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_auth_tokens_account_device" ON "auth_tokens" ("account_id", "device_id")`);
    await queryRunner.query(`CREATE INDEX "ix_auth_tokens_expires_at" ON "auth_tokens" ("expires_at")`);
    await queryRunner.query(`CREATE TABLE "wallets" ("account_id" integer NOT NULL, "encrypted_wallet" text NOT NULL, "hmac" character varying(255) NOT NULL, "sequence" integer NOT NULL, "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_3758a15697c5d6964552b6a9d1c" PRIMARY KEY ("account_id"))`);
    await queryRunner.query(`CREATE TABLE "server_settings" ("name" character varying(64) NOT NULL, "value" character varying(1024) NOT NULL, CONSTRAINT "PK_5f9649842a3940dd1cf0abd623e" PRIMARY KEY ("name"))`);
    await queryRunner.query(`CREATE TABLE "pending_registrations" ("id" SERIAL NOT NULL, "email" character varying(254) NOT NULL, "email_normalized" character varying(254) COLLATE "C" NOT NULL, "password_hash" character varying(255) NOT NULL, "client_salt_seed" character varying(64) NOT NULL, "key_n" integer NOT NULL, "key_r" integer NOT NULL, "key_p" integer NOT NULL, "code_hash" character varying(64) COLLATE "C" NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_72a24749ddb2c32bd41c3380909" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "ix_pending_registrations_email_normalized" ON "pending_registrations" ("email_normalized")`);
    await queryRunner.query(`CREATE INDEX "ix_pending_registrations_expires_at" ON "pending_registrations" ("expires_at")`);
    await queryRunner.query(`CREATE TABLE "wallet_versions" ("account_id" integer NOT NULL, "sequence" integer NOT NULL, "hmac" character varying(255) NOT NULL, "device_id" character varying(255) COLLATE "C", "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "bytes" integer NOT NULL, "encrypted_wallet" text, CONSTRAINT "PK_75e5b88e7afb27aff0999c83feb" PRIMARY KEY ("account_id", "sequence"))`);
    await queryRunner.query(`CREATE TABLE "account_events" ("id" SERIAL NOT NULL, "account_id" integer NOT NULL, "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "kind" character varying(32) NOT NULL, "device_id" character varying(255) COLLATE "C", "new_device" boolean, "sequence" integer, "ip_prefix" character varying(64), "login_method" character varying(32), "method" character varying(16), CONSTRAINT "PK_096b79d6426e443a0f0b096e7cf" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "ix_account_events_account_at" ON "account_events" ("account_id", "at")`);
    await queryRunner.query(`CREATE INDEX "ix_account_events_at" ON "account_events" ("at")`);
    await queryRunner.query(`CREATE TABLE "known_devices" ("account_id" integer NOT NULL, "device_id" character varying(255) COLLATE "C" NOT NULL, "first_login_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_1b1173efe942868ee1693a23dff" PRIMARY KEY ("account_id", "device_id"))`);
    await queryRunner.query(`CREATE TABLE "account_whitelist" ("email_normalized" character varying(254) COLLATE "C" NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_7b5e58973653ac7e4852b85174c" PRIMARY KEY ("email_normalized"))`);
    await queryRunner.query(`CREATE TABLE "account_totp" ("account_id" integer NOT NULL, "secret" character varying(255), "enabled_at" TIMESTAMP(3) WITH TIME ZONE, "last_used_step" integer, "pending_secret" character varying(255), "pending_expires_at" TIMESTAMP(3) WITH TIME ZONE, CONSTRAINT "PK_6425c55d46e5a67c6729932e9b4" PRIMARY KEY ("account_id"))`);
    await queryRunner.query(`CREATE TABLE "recovery_codes" ("account_id" integer NOT NULL, "code_hash" character varying(64) COLLATE "C" NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_539a56d4a1f39b2b3731389b02b" PRIMARY KEY ("account_id", "code_hash"))`);
    await queryRunner.query(`ALTER TABLE "auth_tokens" ADD CONSTRAINT "fk_auth_tokens_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "wallets" ADD CONSTRAINT "fk_wallets_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "wallet_versions" ADD CONSTRAINT "fk_wallet_versions_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "account_events" ADD CONSTRAINT "fk_account_events_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "known_devices" ADD CONSTRAINT "fk_known_devices_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "account_totp" ADD CONSTRAINT "fk_account_totp_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "recovery_codes" ADD CONSTRAINT "fk_recovery_codes_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "recovery_codes" DROP CONSTRAINT "fk_recovery_codes_account"`);
    await queryRunner.query(`ALTER TABLE "account_totp" DROP CONSTRAINT "fk_account_totp_account"`);
    await queryRunner.query(`ALTER TABLE "known_devices" DROP CONSTRAINT "fk_known_devices_account"`);
    await queryRunner.query(`ALTER TABLE "account_events" DROP CONSTRAINT "fk_account_events_account"`);
    await queryRunner.query(`ALTER TABLE "wallet_versions" DROP CONSTRAINT "fk_wallet_versions_account"`);
    await queryRunner.query(`ALTER TABLE "wallets" DROP CONSTRAINT "fk_wallets_account"`);
    await queryRunner.query(`ALTER TABLE "auth_tokens" DROP CONSTRAINT "fk_auth_tokens_account"`);
    await queryRunner.query(`DROP TABLE "recovery_codes"`);
    await queryRunner.query(`DROP TABLE "account_totp"`);
    await queryRunner.query(`DROP TABLE "account_whitelist"`);
    await queryRunner.query(`DROP TABLE "known_devices"`);
    await queryRunner.query(`DROP INDEX "public"."ix_account_events_at"`);
    await queryRunner.query(`DROP INDEX "public"."ix_account_events_account_at"`);
    await queryRunner.query(`DROP TABLE "account_events"`);
    await queryRunner.query(`DROP TABLE "wallet_versions"`);
    await queryRunner.query(`DROP INDEX "public"."ix_pending_registrations_expires_at"`);
    await queryRunner.query(`DROP INDEX "public"."ix_pending_registrations_email_normalized"`);
    await queryRunner.query(`DROP TABLE "pending_registrations"`);
    await queryRunner.query(`DROP TABLE "server_settings"`);
    await queryRunner.query(`DROP TABLE "wallets"`);
    await queryRunner.query(`DROP INDEX "public"."ix_auth_tokens_expires_at"`);
    await queryRunner.query(`DROP INDEX "public"."uq_auth_tokens_account_device"`);
    await queryRunner.query(`DROP INDEX "public"."uq_auth_tokens_token_hash"`);
    await queryRunner.query(`DROP TABLE "auth_tokens"`);
    await queryRunner.query(`DROP INDEX "public"."uq_accounts_email_normalized"`);
    await queryRunner.query(`DROP TABLE "accounts"`);
  }
}
