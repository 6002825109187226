import type { EntityManager } from 'typeorm';
import type { KnownDeviceRow } from '../entities/known-device.entity';
import { dialectOf } from '../dialects';
import { toDatabase } from './statements';

/** The deviceIds that ever logged in to each account. */
export class KnownDeviceRepository {
  /**
   * Remembers the device; true when the account had never seen it. One
   * statement that ignores a duplicate, so of two concurrent first logins of a
   * device exactly one is told it is new.
   */
  async remember(m: EntityManager, accountId: number, deviceId: string, at: Date): Promise<boolean> {
    return dialectOf(m).insertIfAbsent(m, 'known_devices', {
      account_id: accountId,
      device_id: deviceId,
      first_login_at: toDatabase<KnownDeviceRow>(m, 'KnownDevice', 'firstLoginAt', at),
    });
  }
}
