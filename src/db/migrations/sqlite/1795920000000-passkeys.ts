import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Protocol 3's passkeys: each account's WebAuthn credentials (public key, sign
 * counter, name, the optional PRF-wrapped keys), and the challenges handed out
 * and not yet answered, kept in the database so that any instance can answer
 * the second half of a ceremony.
 */
export class Passkeys1795920000000 implements MigrationInterface {
  name = 'Passkeys1795920000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "passkeys" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "account_id" integer NOT NULL, "credential_hash" varchar(64) NOT NULL, "credential_id" varchar(1400) NOT NULL, "public_key" text NOT NULL, "sign_count" bigint NOT NULL, "transports" varchar(255), "name" varchar(64) NOT NULL, "wrapped_keys" varchar(124), "created_at" datetime(3) NOT NULL, "last_used_at" datetime(3), CONSTRAINT "fk_passkeys_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_passkeys_credential_hash" ON "passkeys" ("credential_hash")`);
    await queryRunner.query(`CREATE INDEX "ix_passkeys_account" ON "passkeys" ("account_id")`);
    await queryRunner.query(
      `CREATE TABLE "webauthn_challenges" ("challenge" varchar(64) PRIMARY KEY NOT NULL, "purpose" varchar(16) NOT NULL, "account_id" integer, "expires_at" datetime(3) NOT NULL, CONSTRAINT "fk_webauthn_challenges_account" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE INDEX "ix_webauthn_challenges_expires_at" ON "webauthn_challenges" ("expires_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_webauthn_challenges_expires_at"`);
    await queryRunner.query(`DROP TABLE "webauthn_challenges"`);
    await queryRunner.query(`DROP INDEX "ix_passkeys_account"`);
    await queryRunner.query(`DROP INDEX "uq_passkeys_credential_hash"`);
    await queryRunner.query(`DROP TABLE "passkeys"`);
  }
}
