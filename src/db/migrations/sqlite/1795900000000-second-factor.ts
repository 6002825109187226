import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Protocol 3's second factor: an account's TOTP (sealed secrets, the last used
 * step, a pending enrolment) and its recovery codes (keyed hashes); the security
 * log says how each login signed in and which method a second-factor event is
 * about. Every login before this was by password alone, and is marked so.
 */
export class SecondFactor1795900000000 implements MigrationInterface {
  name = 'SecondFactor1795900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "account_totp" ("account_id" integer PRIMARY KEY NOT NULL, "secret" varchar(255), "enabled_at" datetime(3), "last_used_step" integer, "pending_secret" varchar(255), "pending_expires_at" datetime(3), CONSTRAINT "fk_account_totp_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(
      `CREATE TABLE "recovery_codes" ("account_id" integer NOT NULL, "code_hash" varchar(64) NOT NULL, "created_at" datetime(3) NOT NULL, CONSTRAINT "fk_recovery_codes_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION, PRIMARY KEY ("account_id", "code_hash"))`,
    );
    await queryRunner.query(`ALTER TABLE "account_events" ADD COLUMN "login_method" varchar(32)`);
    await queryRunner.query(`ALTER TABLE "account_events" ADD COLUMN "method" varchar(16)`);
    await queryRunner.query(`UPDATE "account_events" SET "login_method" = 'PASSWORD' WHERE "kind" = 'LOGIN'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "account_events" DROP COLUMN "method"`);
    await queryRunner.query(`ALTER TABLE "account_events" DROP COLUMN "login_method"`);
    await queryRunner.query(`DROP TABLE "recovery_codes"`);
    await queryRunner.query(`DROP TABLE "account_totp"`);
  }
}
