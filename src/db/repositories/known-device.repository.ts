import type { EntityManager } from 'typeorm';
import type { KnownDeviceRow } from '../entities/known-device.entity';
import { execute, toDatabase } from './statements';

/** The deviceIds that ever logged in to each account. */
export class KnownDeviceRepository {
  /**
   * Remembers the device; true when the account had never seen it. One
   * statement that ignores a duplicate, so of two concurrent first logins of a
   * device exactly one is told it is new.
   */
  async remember(m: EntityManager, accountId: number, deviceId: string, at: Date): Promise<boolean> {
    const verb = m.connection.options.type === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE';
    const result = await execute(m, `${verb} INTO known_devices (account_id, device_id, first_login_at) VALUES (?, ?, ?)`, [
      accountId,
      deviceId,
      toDatabase<KnownDeviceRow>(m, 'KnownDevice', 'firstLoginAt', at),
    ]);
    return result.affected === 1;
  }
}
