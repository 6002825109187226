import { EntitySchema } from 'typeorm';

/** Small key/value settings the server keeps for itself, e.g. the generated SERVER_SECRET. */
export interface ServerSettingRow {
  name: string;
  value: string;
}

export const ServerSettingEntity = new EntitySchema<ServerSettingRow>({
  name: 'ServerSetting',
  tableName: 'server_settings',
  columns: {
    name: { name: 'name', type: 'varchar', length: 64, primary: true },
    value: { name: 'value', type: 'varchar', length: 1024 },
  },
});
