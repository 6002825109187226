import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Protocol 3's passkeys: each account's WebAuthn credentials (public key, sign
 * counter, name, the optional PRF-wrapped keys), and the challenges handed out
 * and not yet answered, kept in the database so that any instance can answer
 * the second half of a ceremony. Credential hashes and ids and the challenges
 * identify, so they use the "C" collation (bytes, trailing spaces count), as
 * the initial schema's identifying columns do. Written as TypeORM's schema
 * builder derives it from the entities, so the schema check finds nothing pending.
 */
export class Passkeys1796000000001 implements MigrationInterface {
  name = 'Passkeys1796000000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "passkeys" ("id" SERIAL NOT NULL, "account_id" integer NOT NULL, "credential_hash" character varying(64) COLLATE "C" NOT NULL, "credential_id" character varying(1400) COLLATE "C" NOT NULL, "public_key" text NOT NULL, "sign_count" bigint NOT NULL, "transports" character varying(255), "name" character varying(64) NOT NULL, "wrapped_keys" character varying(124), "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "last_used_at" TIMESTAMP(3) WITH TIME ZONE, CONSTRAINT "PK_db928e6fd79e7098911268a74c3" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_passkeys_credential_hash" ON "passkeys" ("credential_hash")`);
    await queryRunner.query(`CREATE INDEX "ix_passkeys_account" ON "passkeys" ("account_id")`);
    await queryRunner.query(`CREATE TABLE "webauthn_challenges" ("challenge" character varying(64) COLLATE "C" NOT NULL, "purpose" character varying(16) NOT NULL, "account_id" integer, "expires_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_03a1fd625909713af1fa0b33f3e" PRIMARY KEY ("challenge"))`);
    await queryRunner.query(`CREATE INDEX "ix_webauthn_challenges_expires_at" ON "webauthn_challenges" ("expires_at")`);
    await queryRunner.query(`ALTER TABLE "passkeys" ADD CONSTRAINT "fk_passkeys_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "webauthn_challenges" ADD CONSTRAINT "fk_webauthn_challenges_account" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webauthn_challenges" DROP CONSTRAINT "fk_webauthn_challenges_account"`);
    await queryRunner.query(`ALTER TABLE "passkeys" DROP CONSTRAINT "fk_passkeys_account"`);
    await queryRunner.query(`DROP INDEX "public"."ix_webauthn_challenges_expires_at"`);
    await queryRunner.query(`DROP TABLE "webauthn_challenges"`);
    await queryRunner.query(`DROP INDEX "public"."ix_passkeys_account"`);
    await queryRunner.query(`DROP INDEX "public"."uq_passkeys_credential_hash"`);
    await queryRunner.query(`DROP TABLE "passkeys"`);
  }
}
