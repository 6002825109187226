import type { EntityManager } from 'typeorm';
import { ServerSettingEntity } from '../entities/server-setting.entity';

export class ServerSettingRepository {
  async get(m: EntityManager, name: string): Promise<string | undefined> {
    return (await m.findOneBy(ServerSettingEntity, { name }))?.value;
  }

  /** Keeps the first value written: several instances starting at once agree on one. */
  async getOrCreate(m: EntityManager, name: string, candidate: string): Promise<string> {
    await m.createQueryBuilder().insert().into(ServerSettingEntity).values({ name, value: candidate }).orIgnore().execute();
    const value = await this.get(m, name);
    if (value === undefined) throw new Error(`server setting ${name} could not be stored`);
    return value;
  }
}
