import type { EntitySchemaColumnOptions } from 'typeorm';

/** Millisecond date-times, stored in UTC (the MySQL driver runs with timezone 'Z'). */
export const dateTime: Pick<EntitySchemaColumnOptions, 'type' | 'precision'> = { type: 'datetime', precision: 3 };
