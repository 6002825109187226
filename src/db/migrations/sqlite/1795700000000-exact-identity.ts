import type { MigrationInterface, QueryRunner } from 'typeorm';
import { renormalizeEmails } from '../renormalize-emails';

/** SQLite already compares text byte for byte (BINARY collation); only the email keys move to NFC. */
export class ExactIdentity1795700000000 implements MigrationInterface {
  name = 'ExactIdentity1795700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await renormalizeEmails(queryRunner, (name) => `"${name}"`);
  }

  /** NFC keys are valid lower-case keys: nothing to undo. */
  public async down(): Promise<void> {}
}
