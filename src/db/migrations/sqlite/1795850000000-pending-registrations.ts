import type { MigrationInterface, QueryRunner } from 'typeorm';
import { moveUnverifiedAccounts } from '../pending-registrations';

/**
 * EmailVerify's pending registrations are no longer accounts (account
 * pre-hijacking): they get a table of their own, and the link tokens go (the
 * mail carries a code now, redeemed at the first login).
 */
export class PendingRegistrations1795850000000 implements MigrationInterface {
  name = 'PendingRegistrations1795850000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "pending_registrations" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "email" varchar(254) NOT NULL, "email_normalized" varchar(254) NOT NULL, "password_hash" varchar(255) NOT NULL, "client_salt_seed" varchar(64) NOT NULL, "key_n" integer NOT NULL, "key_r" integer NOT NULL, "key_p" integer NOT NULL, "code_hash" varchar(64) NOT NULL, "created_at" datetime(3) NOT NULL, "expires_at" datetime(3) NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "ix_pending_registrations_email_normalized" ON "pending_registrations" ("email_normalized") `);
    await queryRunner.query(`CREATE INDEX "ix_pending_registrations_expires_at" ON "pending_registrations" ("expires_at") `);
    await moveUnverifiedAccounts(queryRunner, (name) => `"${name}"`);
    await queryRunner.query(`DROP TABLE "verification_tokens"`);
  }

  /** Pending registrations are dropped (they are not accounts, and expire within days anyway). */
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "verification_tokens" ("account_id" integer PRIMARY KEY NOT NULL, "token_hash" varchar(64) NOT NULL, "created_at" datetime(3) NOT NULL, "expires_at" datetime(3) NOT NULL, CONSTRAINT "fk_verification_tokens_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_verification_tokens_token_hash" ON "verification_tokens" ("token_hash") `);
    await queryRunner.query(`CREATE INDEX "ix_verification_tokens_expires_at" ON "verification_tokens" ("expires_at") `);
    await queryRunner.query(`DROP TABLE "pending_registrations"`);
  }
}
