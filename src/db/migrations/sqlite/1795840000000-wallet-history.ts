import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Wallet history, the account's security log and the devices each account has seen. */
export class WalletHistory1795840000000 implements MigrationInterface {
  name = 'WalletHistory1795840000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "wallet_versions" ("account_id" integer NOT NULL, "sequence" integer NOT NULL, "hmac" varchar(255) NOT NULL, "device_id" varchar(255), "updated_at" datetime(3) NOT NULL, "bytes" integer NOT NULL, "encrypted_wallet" text, CONSTRAINT "fk_wallet_versions_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION, PRIMARY KEY ("account_id", "sequence"))`);
    await queryRunner.query(`CREATE TABLE "account_events" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "account_id" integer NOT NULL, "at" datetime(3) NOT NULL, "kind" varchar(32) NOT NULL, "device_id" varchar(255), "new_device" boolean, "sequence" integer, "ip_prefix" varchar(64), CONSTRAINT "fk_account_events_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`);
    await queryRunner.query(`CREATE INDEX "ix_account_events_account_at" ON "account_events" ("account_id", "at") `);
    await queryRunner.query(`CREATE INDEX "ix_account_events_at" ON "account_events" ("at") `);
    await queryRunner.query(`CREATE TABLE "known_devices" ("account_id" integer NOT NULL, "device_id" varchar(255) NOT NULL, "first_login_at" datetime(3) NOT NULL, CONSTRAINT "fk_known_devices_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION, PRIMARY KEY ("account_id", "device_id"))`);
    // Every existing wallet's current state gets its header (and keeps its content); the writer is unknown.
    await queryRunner.query(`INSERT INTO "wallet_versions" ("account_id", "sequence", "hmac", "device_id", "updated_at", "bytes", "encrypted_wallet") SELECT "account_id", "sequence", "hmac", NULL, "updated_at", LENGTH(CAST("encrypted_wallet" AS BLOB)), "encrypted_wallet" FROM "wallets"`);
    // Devices holding a token have logged in before: their next login is not a new device.
    await queryRunner.query(`INSERT INTO "known_devices" ("account_id", "device_id", "first_login_at") SELECT "account_id", "device_id", "created_at" FROM "auth_tokens"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "known_devices"`);
    await queryRunner.query(`DROP INDEX "ix_account_events_at"`);
    await queryRunner.query(`DROP INDEX "ix_account_events_account_at"`);
    await queryRunner.query(`DROP TABLE "account_events"`);
    await queryRunner.query(`DROP TABLE "wallet_versions"`);
  }
}
